"""The machinery behind storing what files say about stores and items (`sales.services`): names, the
hierarchy (a store's region; an item's department, and the department's category) and the other
attributes, applied to the catalogue with a few set-based statements whatever the number of rows.

Rules, for every source (an attribute file, or the sales file's own columns):
- a store or item the catalogue lacks is created, with an id by the loader's rule (code n -> id n when free);
- a region, category or department is created the first time a code names it;
- a parent is set where the catalogue has none; a different parent from the one the catalogue (or another
  line) already gives is an error naming the file, the line and the code, and nothing is written;
- the other columns are merged into `attributes` (the file's value wins).

Parent codes are the file's text; a comma (the API's list separator) becomes "/" in the code and the
text is kept as the name (Favorita's family `LIQUOR,WINE,BEER`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sales.loading import (
    CODE_MAX_LENGTH,
    ITEMS,
    STORES,
    CatalogueKind,
    LoadError,
    LoadProblem,
    _show,
    catalogue_insert_new,
)
from sales.models import UNIT_MAX_LENGTH
from sales.reading import AttributeRow

PARENT_TABLES = {"region": "sales_region", "category": "sales_category", "department": "sales_department"}


@dataclass(frozen=True)
class CatalogueSource:
    """Rows about stores or items and where they come from. `names`: the rows' names replace the
    catalogue's (an attribute file); otherwise they only name stores or items created now (a sales file,
    whose names an admin may have changed since)."""

    path: Path
    kind: Literal["stores", "items"]
    rows: list[AttributeRow]
    names: bool = True
    # How the file calls each role, for the error messages (role -> column).
    columns: dict[str, str] = field(default_factory=dict)
    # For rows without a line (a sales file's distinct keys): (code, role) -> the line that gives it.
    # Only called on the error path.
    line_of: Callable[[str, str], int | None] | None = None


def code_problem(code: str) -> str | None:
    """Why `code` cannot be a store's or item's code, or None (the loader's rule: 1 to 64 characters,
    no comma, no control character)."""
    if len(code) > CODE_MAX_LENGTH:
        return f"is longer than {CODE_MAX_LENGTH} characters"
    if "," in code or any(ord(c) < 32 or ord(c) == 127 for c in code):
        return "holds a comma or a control character (not a code)"
    return None


def parent_code(text: str) -> str:
    return text.replace(",", "/")


def catalogue_source_store(*, cursor, source: CatalogueSource) -> bool:
    """Store `source` into the catalogue (module docstring). LoadError naming the file, line and code when a
    row's code is not valid or a row gives a store, item or department another parent than the catalogue's.
    Returns whether items that already have sales got a department (the rollups by department must then
    be rebuilt: sales.rollups.rollups_hierarchy_rebuild)."""
    kind = STORES if source.kind == "stores" else ITEMS
    rows = source.rows
    _codes_check(source=source, kind=kind)
    if not rows:
        return False
    _parents_store(cursor=cursor, source=source, kind=kind)
    existing = _existing(cursor=cursor, kind=kind, codes=[row.code for row in rows])
    _conflicts_check(source=source, kind=kind, existing=existing)
    catalogue_insert_rows(cursor=cursor, kind=kind, rows=rows)
    _rows_update(cursor=cursor, source=source, kind=kind)
    # Only items count: the rollups are keyed by department; a store's region and a department's category
    # are read through joins (sales.rollups).
    gained = [existing[row.code][0] for row in rows if _gains_parent(kind, row, existing.get(row.code))]
    return kind is ITEMS and _have_sales(cursor=cursor, kind=kind, ids=gained)


def _problem(source: CatalogueSource, row: AttributeRow, role: str, value: str, message: str) -> LoadProblem:
    line = row.line or (source.line_of(row.code, role) if source.line_of is not None else None)
    return LoadProblem(line, row.columns.get(role) or source.columns.get(role, role), _show(value), message)


def _codes_check(*, source: CatalogueSource, kind: CatalogueKind) -> None:
    problems = []
    for row in source.rows:
        why = code_problem(row.code)
        if why is not None:
            problems.append(_problem(source, row, kind.role, row.code, why))
        for parent in kind.parents:
            value = getattr(row, parent)
            if value is not None and len(value) > CODE_MAX_LENGTH:
                problems.append(_problem(source, row, parent, value, f"is longer than {CODE_MAX_LENGTH} characters"))
        if row.unit is not None and len(row.unit) > UNIT_MAX_LENGTH:
            problems.append(_problem(source, row, "unit", row.unit, f"is longer than {UNIT_MAX_LENGTH} characters"))
    if problems:
        raise LoadError(path=source.path, problems=problems)


def _existing(*, cursor, kind: CatalogueKind, codes: list[str]) -> dict[str, tuple[int, str | None]]:
    """code -> (id, parent code) of the catalogue's stores or items among `codes`: the region's code
    (stores) or the department's (items)."""
    parent = "region" if kind is STORES else "department"
    cursor.execute(
        f"SELECT t.code, t.id, p.code FROM {kind.table} t LEFT JOIN {PARENT_TABLES[parent]} p "
        f"ON p.id = t.{parent}_id WHERE t.code = ANY(%s)",
        [codes],
    )
    return {code: (id_, parent_code) for code, id_, parent_code in cursor.fetchall()}


def _conflicts_check(*, source: CatalogueSource, kind: CatalogueKind, existing: dict) -> None:
    parent = "region" if kind is STORES else "department"
    problems = []
    for row in source.rows:
        given, known = getattr(row, parent), existing.get(row.code, (None, None))[1]
        if given is not None and known is not None and parent_code(given) != known:
            noun = kind.role
            message = f"puts {noun} {row.code!r} in {parent} {given!r}; the catalogue has it in {parent} {known!r}"
            problems.append(_problem(source, row, parent, row.code, message))
    if problems:
        raise LoadError(path=source.path, problems=problems)


def _gains_parent(kind: CatalogueKind, row: AttributeRow, known: tuple[int, str | None] | None) -> bool:
    parent = "region" if kind is STORES else "department"
    return known is not None and known[1] is None and getattr(row, parent) is not None


def _have_sales(*, cursor, kind: CatalogueKind, ids: list[int]) -> bool:
    if not ids:
        return False
    table = "sales_monthlystoretotal" if kind is STORES else "sales_monthlyitemtotal"
    cursor.execute(f"SELECT EXISTS (SELECT FROM {table} WHERE {kind.role}_id = ANY(%s))", [ids])
    return cursor.fetchone()[0]


# ---------------------------------------------------------------- parents


def _parents_store(*, cursor, source: CatalogueSource, kind: CatalogueKind) -> None:
    """Create the regions, categories and departments the rows name; set a department's category where
    it has none."""
    if kind is STORES:
        _levels_create(cursor=cursor, table="sales_region", texts={row.region for row in source.rows})
        return
    _levels_create(cursor=cursor, table="sales_category", texts={row.category for row in source.rows})
    _levels_create(cursor=cursor, table="sales_department", texts={row.department for row in source.rows})
    _departments_place(cursor=cursor, source=source)


def _levels_create(*, cursor, table: str, texts: set[str | None]) -> None:
    given = sorted(text for text in texts if text)
    if not given:
        return
    codes = [parent_code(text) for text in given]
    names = [text if parent_code(text) != text else "" for text in given]
    cursor.execute(
        f"INSERT INTO {table} (code, name) SELECT * FROM unnest(%s::text[], %s::text[]) ON CONFLICT (code) DO NOTHING",
        [codes, names],
    )


def _departments_place(*, cursor, source: CatalogueSource) -> None:
    """Each department's category: set where the catalogue has none, an error where it has another."""
    placed: dict[str, tuple[str, AttributeRow]] = {}
    for row in source.rows:
        if row.department and row.category:
            placed.setdefault(parent_code(row.department), (parent_code(row.category), row))
    if not placed:
        return
    cursor.execute(
        "SELECT d.code, c.code FROM sales_department d LEFT JOIN sales_category c ON c.id = d.category_id "
        "WHERE d.code = ANY(%s)",
        [list(placed)],
    )
    problems = []
    for department, known in cursor.fetchall():
        category, row = placed[department]
        if known is not None and known != category:
            message = f"puts department {department!r} in category {category!r}; the catalogue has it in {known!r}"
            problems.append(_problem(source, row, "category", row.code, message))
    if problems:
        raise LoadError(path=source.path, problems=problems)
    cursor.execute(
        "UPDATE sales_department d SET category_id = c.id FROM unnest(%s::text[], %s::text[]) AS u (department, category)"
        " JOIN sales_category c ON c.code = u.category WHERE d.code = u.department AND d.category_id IS NULL",
        [list(placed), [category for category, _ in placed.values()]],
    )


# ---------------------------------------------------------------- stores and items


def catalogue_insert_rows(*, cursor, kind: CatalogueKind, rows: list[AttributeRow]) -> int:
    """Create the stores (items) of `rows` the catalogue lacks, by the loader's id rule."""
    named = "SELECT * FROM unnest(%s::text[], %s::text[]) AS named (code, name)"
    return catalogue_insert_new(
        cursor=cursor, kind=kind, named=named, params=[[row.code for row in rows], [row.name for row in rows]]
    )


def _rows_update(*, cursor, source: CatalogueSource, kind: CatalogueKind) -> None:
    """Names (an attribute file's), the parent where the catalogue has none, and the other attributes
    merged; only rows that change are written."""
    rows = source.rows
    parent = "region" if kind is STORES else "department"
    codes = [row.code for row in rows]
    names = [row.name if source.names else None for row in rows]
    parents = [parent_code(getattr(row, parent)) if getattr(row, parent) else None for row in rows]
    attributes = [json.dumps(_attributes_of(kind=kind, row=row)) for row in rows]
    # An items file's unit (kg, l...) replaces the item's; stores have none (their column is left as is).
    unit = "coalesce(u.unit, t.unit)" if kind is ITEMS else "NULL"
    cursor.execute(
        f"""
        UPDATE {kind.table} t
        SET name = coalesce(u.name, t.name), {parent}_id = coalesce(t.{parent}_id, p.id),
            attributes = t.attributes || u.attributes::jsonb{", unit = " + unit if kind is ITEMS else ""}
        FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
            AS u (code, name, parent, attributes, unit)
        LEFT JOIN {PARENT_TABLES[parent]} p ON p.code = u.parent
        WHERE t.code = u.code AND (
            t.name IS DISTINCT FROM coalesce(u.name, t.name)
            OR t.{parent}_id IS DISTINCT FROM coalesce(t.{parent}_id, p.id)
            OR {unit} IS DISTINCT FROM {"t.unit" if kind is ITEMS else "NULL"}
            OR NOT t.attributes @> u.attributes::jsonb)
        """,
        [codes, names, parents, attributes, [row.unit for row in rows]],
    )


def _attributes_of(*, kind: CatalogueKind, row: AttributeRow) -> dict[str, str]:
    """The row's other columns; an item given a category but no department keeps the category here
    (an item's category is its department's: without a department there is nowhere else to put it)."""
    extra = dict(row.attributes)
    if kind is ITEMS and row.category and not row.department:
        extra["category"] = row.category
    return extra
