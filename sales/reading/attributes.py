"""Attribute files: what the data says about stores (a region, a city, a type) and items (a category,
a department, a unit), loaded beside a sales file or alone."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sales.loading import MAX_LISTED_PROBLEMS, LoadError, LoadProblem, _show
from sales.reading.sources import source_open
from sales.reading.tables import header_read, text_of

MAX_ATTRIBUTE_ROWS = 5_000_000
# Role -> the column names that play it, first found wins (lower case); a mapping overrides them.
ATTRIBUTE_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "stores": {
        "store": ("store", "store_nbr", "store_id", "code"),
        "store_name": ("store_name", "name"),
        "region": ("region", "state", "state_id"),
    },
    "items": {
        "item": ("item", "item_nbr", "item_id", "code"),
        "item_name": ("item_name", "name"),
        "category": ("category", "family", "cat_id"),
        "department": ("department", "class", "dept_id"),
        "unit": ("unit",),
    },
}


@dataclass(frozen=True)
class AttributeRow:
    """A store or an item: its `code`, display `name`, parent codes (items: `category`, `department`;
    stores: `region`), `unit` (items), and every other column in `attributes`. `line` is its file line."""

    code: str
    name: str | None = None
    category: str | None = None
    department: str | None = None
    region: str | None = None
    unit: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    line: int = 0
    # Role -> the file's column that gave it (one dict shared by a file's rows), for error messages.
    columns: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


def attributes_read(
    *,
    path: Path,
    kind: Literal["stores", "items"],
    columns: dict[str, str] | None = None,
    problem_limit: int = MAX_LISTED_PROBLEMS,
) -> list[AttributeRow]:
    """Every row of a stores or items file. LoadError naming the file, line and code for a row without
    a code, a code listed twice, an item in two departments or categories across rows, or a department
    in two categories (the first `problem_limit` of them, and how many)."""
    if kind not in ATTRIBUTE_COLUMNS:
        raise ValueError(f"kind must be stores or items, not {kind!r}")
    with source_open(path=path, kind=kind) as opened:
        header = header_read(path=path, opened=opened)
        at = _positions(path=path, kind=kind, header=header, columns=columns or {})
        rows = _rows(path=path, opened=opened, header=header)
        found, problems = _attribute_rows(kind=kind, header=header, at=at, rows=rows, path=path)
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise LoadError(path=path, problems=problems[:problem_limit], total=len(problems))
    return found


def _positions(*, path: Path, kind: str, header: list[str], columns: dict[str, str]) -> dict[str, int]:
    lower = [n.lower() for n in header]
    at: dict[str, int] = {}
    for role, names in ATTRIBUTE_COLUMNS[kind].items():
        candidates = (columns[role].lower(),) if role in columns else names
        found = [lower.index(n) for n in candidates if n in lower]
        if found:
            at[role] = found[0]
        elif role in columns:
            raise LoadError(path=path, problems=[LoadProblem(1, None, _show(columns[role]), "is not in the header")])
    code = kind.removesuffix("s")
    if code not in at:
        known = ", ".join(ATTRIBUTE_COLUMNS[kind][code])
        message = f"a {kind} file needs a code column ({known}, or --columns {code}=COLUMN)"
        raise LoadError(path=path, problems=[LoadProblem(1, None, _show(",".join(header), 80), message)])
    return at


def _rows(*, path: Path, opened, header: list[str]):
    if opened.parquet is not None:
        for batch in opened.parquet.iter_batches():
            yield from zip(*(text_of(batch.column(n)).to_pylist() for n in header), strict=True)
        return
    text = io.TextIOWrapper(opened.stream, encoding="utf-8", newline="")
    try:
        yield from csv.reader(text)
    except UnicodeDecodeError:
        raise LoadError(path=path, problems=[LoadProblem(None, None, None, "is not UTF-8 text")]) from None


def _attribute_rows(
    *, path: Path, kind: str, header: list[str], at: dict[str, int], rows
) -> tuple[list[AttributeRow], list[LoadProblem]]:
    code_role = kind.removesuffix("s")
    others = [i for i in range(len(header)) if i not in at.values()]
    found: list[AttributeRow] = []
    problems: list[LoadProblem] = []
    first: dict[str, tuple[int, dict[str, str | None]]] = {}
    columns = {role: header[i] for role, i in at.items()}
    for line, fields in enumerate(rows, start=2):
        if line > MAX_ATTRIBUTE_ROWS:
            raise LoadError(path=path, problems=[LoadProblem(line, None, None, "too many rows")])
        fields = ["" if f is None else str(f) for f in fields]
        if len(fields) != len(header):
            problems.append(
                LoadProblem(line, None, _show(",".join(fields)), f"has {len(fields)} fields, not {len(header)}")
            )
            continue
        value = {role: fields[i].strip() or None for role, i in at.items()}
        code = value.get(code_role)
        if code is None:
            problems.append(LoadProblem(line, header[at[code_role]], "''", f"has no {code_role} code"))
            continue
        if code in first:
            problems.append(_twice(header=header, at=at, code=code, line=line, earlier=first[code], value=value))
            continue
        first[code] = (line, value)
        found.append(
            AttributeRow(
                code=code,
                name=value.get(f"{code_role}_name"),
                category=value.get("category"),
                department=value.get("department"),
                region=value.get("region"),
                unit=value.get("unit"),
                attributes={header[i]: fields[i] for i in others},
                line=line,
                columns=columns,
            )
        )
    problems += _parent_problems(header=header, at=at, rows=found)
    return found, problems


def _twice(
    *, header: list[str], at: dict[str, int], code: str, line: int, earlier: tuple[int, dict], value: dict
) -> LoadProblem:
    """A code on a second line: named by the parent it changes (an item in two departments), if any."""
    first_line, first = earlier
    for parent in ("department", "category", "region"):
        if parent in at and first.get(parent) != value.get(parent):
            message = f"is in {parent} {value.get(parent)!r} here and {first.get(parent)!r} on line {first_line}"
            return LoadProblem(line, header[at[parent]], _show(code), message)
    return LoadProblem(line, None, _show(code), f"is listed twice (line {first_line})")


def _parent_problems(*, header: list[str], at: dict[str, int], rows: list[AttributeRow]) -> list[LoadProblem]:
    """A department in two categories (items of one department must share its category)."""
    if "department" not in at or "category" not in at:
        return []
    seen: dict[str, tuple[str, int]] = {}
    problems = []
    for row in rows:
        if row.department is None or row.category is None:
            continue
        category, line = seen.setdefault(row.department, (row.category, row.line))
        if category != row.category:
            message = f"puts department {row.department!r} in category {row.category!r}, line {line} in {category!r}"
            problems.append(LoadProblem(row.line, header[at["category"]], _show(row.code), message))
    return problems
