"""Reading sales files as they come: the layout from the header, every compression, and one
normalized output (see streams.py) that the loader copies in.

Public: `layout_detect`, `sales_stream`, `attributes_read`, `calendar_read`, `preview`, `columns_parse`,
and the records `Layout`, `AttributeRow`, `Preview`, `ReadStats`. Errors are `sales.loading.LoadError`.
"""

from __future__ import annotations

from pathlib import Path

from sales.loading import LoadError
from sales.reading.attributes import AttributeRow, attributes_read
from sales.reading.calendars import Calendar, calendar_read
from sales.reading.layouts import LAYOUTS, ROLES, Layout, columns_parse, layout_from_header
from sales.reading.previews import Preview, PreviewColumn, preview
from sales.reading.sources import source_open
from sales.reading.streams import ReadStats, sales_stream
from sales.reading.tables import batches_read, header_read

__all__ = [
    "LAYOUTS",
    "ROLES",
    "AttributeRow",
    "Calendar",
    "Layout",
    "LoadError",
    "Preview",
    "PreviewColumn",
    "ReadStats",
    "attributes_read",
    "calendar_read",
    "columns_parse",
    "layout_detect",
    "preview",
    "sales_stream",
]

SAMPLE_BLOCK_BYTES = 256 << 10
SAMPLE_DATES = 1_000


def layout_detect(*, path: Path, columns: dict[str, str] | None = None, calendar: Path | None = None) -> Layout:
    """The layout of the sales file at `path` (any compression), from its header and first rows.
    LoadError naming the file when it cannot be opened or the header is not a layout it knows
    (nor fits the `columns` mapping of role to column)."""
    path = Path(path)
    with source_open(path=path) as opened:
        header = header_read(path=path, opened=opened)
        dates = _first_dates(path=path, opened=opened, header=header, columns=columns)
    return layout_from_header(path=path, header=header, columns=columns, dates=dates, has_calendar=calendar is not None)


def _first_dates(*, path: Path, opened, header: list[str], columns: dict[str, str] | None) -> list[str]:
    wanted = (columns or {}).get("date", "date").lower()
    matches = [n for n in header if n.lower() == wanted]
    if len(matches) != 1:
        return []
    try:
        batches = batches_read(path=path, opened=opened, header=header, wanted=matches, block_bytes=SAMPLE_BLOCK_BYTES)
        first = next(iter(batches), None)
    except LoadError:
        return []  # the stream names the bad line; detection only looks at the header
    return [] if first is None else first.columns[matches[0]].slice(0, SAMPLE_DATES).to_pylist()
