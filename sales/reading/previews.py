"""What the upload page shows before a load: the first rows, the layout recognised, and each column's
role and type."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sales.loading import LoadError
from sales.reading.layouts import DAY_COLUMN, Layout, layout_from_header
from sales.reading.sources import source_open
from sales.reading.tables import batches_read, header_read

# A wide file shows this many day columns; the rest are counted in `hidden_columns`.
WIDE_SHOWN_DAYS = 7
PREVIEW_BLOCK_BYTES = 256 << 10
TYPES = (
    ("empty", re.compile(r"^$")),
    ("integer", re.compile(r"^-?\d+$")),
    ("decimal", re.compile(r"^-?\d+\.\d+$")),
    ("date", re.compile(r"^\d{4}-\d\d-\d\d$")),
    ("boolean", re.compile(r"^(true|false|TRUE|FALSE|True|False)$")),
)


@dataclass(frozen=True)
class PreviewColumn:
    """A column shown: its `name`, the `role` it plays (None when ignored, `extra` when kept beside the
    roles) and the `type` its first values have (integer, decimal, date, boolean, text, empty)."""

    name: str
    role: str | None
    type: str


@dataclass(frozen=True)
class Preview:
    """The first `rows` of a file (as text, one list per row, matching `columns`), its `layout`
    (None when not recognised: `problems` say why) and the display `name` through its archives."""

    name: str
    layout: Layout | None
    columns: list[PreviewColumn]
    rows: list[list[str]]
    hidden_columns: int = 0
    problems: list[str] = field(default_factory=list)


def preview(*, path: Path, columns: dict[str, str] | None = None, rows: int = 20) -> Preview:
    """The first `rows` rows of `path` and what they are. LoadError only when the file cannot be
    opened or read as CSV or Parquet; an unknown layout is reported in `problems`."""
    path = Path(path)
    with source_open(path=path) as opened:
        header = header_read(path=path, opened=opened)
        shown = _shown_columns(header)
        first = next(iter(batches_read(path=path, opened=opened, header=header, wanted=shown,
                                       block_bytes=PREVIEW_BLOCK_BYTES)), None)  # fmt: skip
        values = {name: ([] if first is None else first.columns[name].slice(0, rows).to_pylist()) for name in shown}
        name = opened.name
    dates = values.get(next((n for n in shown if n.lower() == (columns or {}).get("date", "date").lower()), ""), [])
    layout, problems = None, []
    try:
        layout = layout_from_header(path=path, header=header, columns=columns, dates=dates, has_calendar=True)
    except LoadError as error:
        problems = [str(p) for p in error.problems]
    roles = {} if layout is None else {column: role for role, column in layout.roles.items()}
    extras = set() if layout is None else set(layout.extras)
    described = []
    for column in shown:
        role = roles.get(column) or (
            "sales" if layout and layout.name == "m5" and DAY_COLUMN.fullmatch(column.lower()) else None
        )
        role = role or ("extra" if column in extras else None)
        described.append(PreviewColumn(name=column, role=role, type=_type_of(values[column])))
    table = [
        [("" if values[c][i] is None else str(values[c][i])) for c in shown]
        for i in range(len(values[shown[0]]) if shown else 0)
    ]
    return Preview(
        name=name,
        layout=layout,
        columns=described,
        rows=table,
        hidden_columns=len(header) - len(shown),
        problems=problems,
    )


def _shown_columns(header: list[str]) -> list[str]:
    days = [n for n in header if DAY_COLUMN.fullmatch(n.lower())]
    hidden = set(days[WIDE_SHOWN_DAYS:])
    return [n for n in dict.fromkeys(header) if n not in hidden]


def _type_of(values: list) -> str:
    texts = ["" if v is None else str(v) for v in values]
    filled = [t for t in texts if t]
    if not filled:
        return "empty"
    for name, pattern in TYPES[1:]:
        if all(pattern.match(t) for t in filled):
            return name
    if all(TYPES[1][1].match(t) or TYPES[2][1].match(t) for t in filled):
        return "decimal"
    return "text"
