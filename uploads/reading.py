"""What the upload needs from a file: the checks on a compressed one, the preview the page shows, the
mapping the load takes, and the dry run.

This module is the one place the upload calls the file reader (`sales.reading`: layouts, compression,
the normalized stream) and the loader's service for files (`sales.services.sales_load_files`).
"""

from __future__ import annotations

import csv
import io
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings

from sales import reading
from sales.loading import LoadError
from sales.reading.attributes import ATTRIBUTE_COLUMNS
from sales.services import FilesLoadSummary, sales_load_files

ROLES = reading.ROLES
REQUIRED_ROLES = ("date", "store", "item", "sales")
PREVIEW_ROWS = 20
KINDS = ("sales", "calendar", "stores", "items")
# The columns a calendar must have (M5's calendar.csv: a date per day column name d_1, d_2, ...).
CALENDAR_COLUMNS = ("date", "d")
# Column names that suggest a role when the file names none by its role (what analysts' exports call them).
ROLE_NAMES = {
    "date": {"day", "ds", "sale_date", "sales_date", "week", "week_start"},
    "store": {"store_id", "store_nbr", "shop", "shop_id", "location", "location_id"},
    "item": {"item_id", "item_nbr", "product", "product_id", "sku", "article"},
    "sales": {"units", "unit_sales", "quantity", "qty", "sold", "units_sold", "weekly_sales"},
}


class FileRefused(Exception):
    """The file cannot be taken (a compression bomb, a file that cannot be read); nothing was written."""


@dataclass(frozen=True)
class ColumnGuess:
    name: str
    role: str  # one of ROLES, or "" (not loaded)
    type: str  # integer, decimal, date, boolean, text or empty


@dataclass(frozen=True)
class Preview:
    """The first rows of a file as the page shows them: the layout recognised, a role per column, and
    `mapping` (role -> column) for the load, {} when the reader recognises the file by itself."""

    layout: str
    kind: str
    compression: str
    columns: list[ColumnGuess]
    rows: list[list[str]]
    rows_estimate: int | None
    mapping: dict[str, str]
    roles: tuple[str, ...] = ROLES
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def file_compression(path: Path) -> str:
    """ "gzip", "zip", "7z", "parquet" or "none", from the file's first bytes (never from its name)."""
    with path.open("rb") as handle:
        head = handle.read(8)
    kinds = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"7z\xbc\xaf\x27\x1c": "7z", b"PAR1": "parquet"}
    return next((kind for magic, kind in kinds.items() if head.startswith(magic)), "none")


def _expansion_refuse(*, declared: int, size: int) -> None:
    if declared > settings.UPLOAD_MAX_BYTES:
        raise FileRefused(
            f"the file expands to {declared:,} bytes, past the largest upload taken ({settings.UPLOAD_MAX_BYTES:,})"
        )
    if declared > size * settings.UPLOAD_MAX_EXPANSION_RATIO:
        raise FileRefused(
            f"the file expands {declared / max(size, 1):,.0f} times (at most {settings.UPLOAD_MAX_EXPANSION_RATIO}"
            " times is taken): it looks like a compression bomb"
        )


def file_expanded_bytes(path: Path) -> int:
    """What a compressed file's own header says it expands to (zip: its members; gzip: its trailer,
    modulo 2**32); the file's size when it is not compressed that way."""
    kind = file_compression(path)
    if kind == "zip":
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    if kind == "gzip":
        with path.open("rb") as handle:
            handle.seek(-4, 2)
            return struct.unpack("<I", handle.read(4))[0]
    return path.stat().st_size


def file_expansion_check(path: Path) -> None:
    """Refuse at once a compressed file whose header says it expands past the upload cap or a sane
    ratio (a zip bomb). A header can lie: the reader also counts the bytes as it expands them."""
    try:
        _expansion_refuse(declared=file_expanded_bytes(path), size=path.stat().st_size)
    except (zipfile.BadZipFile, OSError) as error:
        raise FileRefused(f"cannot be read as {file_compression(path)} ({error})") from None


def kind_guess(header: list[str]) -> str:
    """What a file is, from its header: a calendar (date and d), a stores or items file (a code of its
    kind, no date), else sales. The user corrects it on the page."""
    lower = {name.lower() for name in header}
    if set(CALENDAR_COLUMNS) <= lower and not lower & {"store", "item", "store_id", "item_id", "sales"}:
        return "calendar"
    if "date" in lower:
        return "sales"
    coded = {kind for kind, roles in ATTRIBUTE_COLUMNS.items() if lower & set(roles[kind.removesuffix("s")])}
    if len(coded) > 1:  # "code" names either; a store and an item side by side are sales without a date name
        named = {kind for kind in coded if lower & (set(ATTRIBUTE_COLUMNS[kind][kind.removesuffix("s")]) - {"code"})}
        coded = named or _fits_best(lower)
    return coded.pop() if len(coded) == 1 else "sales"


def _fits_best(lower: set[str]) -> set[str]:
    fits = {kind: sum(len(lower & set(names)) for names in roles.values()) for kind, roles in ATTRIBUTE_COLUMNS.items()}
    best = max(fits.values())
    return {kind for kind, fit in fits.items() if fit == best}


def file_preview(*, path: Path, columns: dict[str, str] | None = None, kind: str | None = None) -> Preview:
    """The first rows of `path`, its layout and a role and type per column. `kind` is what the file is
    (None: guessed from its header); a sales file's `columns` (source column -> role, "" for none) correct
    the roles found. Raises FileRefused when the file cannot be read."""
    if kind is None or kind != "sales":
        try:
            shown = reading.preview(path=path, rows=PREVIEW_ROWS)
        except LoadError as error:
            raise FileRefused("; ".join(str(problem) for problem in error.problems)) from None
        kind = kind or (kind_guess([c.name for c in shown.columns]) if shown.layout is None else "sales")
        if kind != "sales":
            return _companion_preview(path=path, shown=shown, kind=kind)
    overrides = {name: role for name, role in (columns or {}).items() if role in ROLES or role == ""}
    try:
        shown = reading.preview(path=path, rows=PREVIEW_ROWS)
        mapping: dict[str, str] = {}
        if overrides or shown.layout is None:
            mapping = _mapping(header=[c.name for c in shown.columns], found=shown, overrides=overrides)
            shown = reading.preview(path=path, columns=mapping or None, rows=PREVIEW_ROWS)
    except LoadError as error:
        raise FileRefused("; ".join(str(problem) for problem in error.problems)) from None
    roles = dict(shown.layout.roles) if shown.layout else mapping
    by_column = {column: role for role, column in roles.items()}
    guesses = [
        ColumnGuess(name=c.name, role=c.role if c.role in ROLES else by_column.get(c.name, ""), type=c.type)
        for c in shown.columns
    ]
    return Preview(
        layout=shown.layout.name if shown.layout else "not recognised",
        kind="sales",
        compression=file_compression(path),
        columns=guesses,
        rows=shown.rows,
        rows_estimate=_rows_estimate(path=path, rows=shown.rows),
        mapping=mapping if shown.layout else {},
        missing=[] if shown.layout else [r for r in REQUIRED_ROLES if r not in mapping],
        warnings=[*shown.problems, *(shown.layout.warnings if shown.layout else [])],
    )


def _companion_preview(*, path: Path, shown: reading.Preview, kind: str) -> Preview:
    """A calendar's or an attribute file's first rows, with the role the reader gives each column it
    knows (the file's own names; these files take no mapping)."""
    lower = {c.name.lower(): c.name for c in shown.columns}
    if kind == "calendar":
        found = {name: name for name in CALENDAR_COLUMNS if name in lower}
        missing = [name for name in CALENDAR_COLUMNS if name not in found]
    else:
        found = {}
        for role, names in ATTRIBUTE_COLUMNS[kind].items():
            column = next((lower[n] for n in names if n in lower), None)
            if column is not None:
                found[role] = column
        missing = [role for role in (kind.removesuffix("s"),) if role not in found]
    by_column = {column: role for role, column in found.items()}
    return Preview(
        layout=kind,
        kind=kind,
        compression=file_compression(path),
        columns=[ColumnGuess(name=c.name, role=by_column.get(c.name, ""), type=c.type) for c in shown.columns],
        rows=shown.rows,
        rows_estimate=_rows_estimate(path=path, rows=shown.rows),
        mapping={},
        roles=(),
        missing=missing,
    )


def _mapping(*, header: list[str], found: reading.Preview, overrides: dict[str, str]) -> dict[str, str]:
    """Role -> column: the roles the reader found, else a guess from the column's name, then the user's
    corrections (a role given to one column is taken from any other)."""
    by_column = {c.name: c.role for c in found.columns if c.role in ROLES}
    for name in header:
        if name not in by_column:
            guess = next((r for r, names in ROLE_NAMES.items() if name.lower() in names), None)
            if guess and guess not in by_column.values():
                by_column[name] = guess
    for name, role in overrides.items():
        by_column = {column: r for column, r in by_column.items() if r != role or not role}
        by_column[name] = role
    return {role: column for column, role in by_column.items() if role}


def _rows_estimate(*, path: Path, rows: list[list[str]]) -> int | None:
    """File size over the bytes of a shown row: close enough for "time left" (plain files only)."""
    if file_compression(path) != "none" or not rows:
        return None
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return int(path.stat().st_size / (len(buffer.getvalue().encode()) / len(rows)))


def file_load(
    *,
    files: dict[str, Path],
    mapping: dict[str, str],
    append: bool,
    progress: Callable[[str, int], None],
    on_wait: Callable[[], None],
    problem_limit: int,
) -> FilesLoadSummary:
    """Load `files` (kind -> path: a sales file, its calendar, stores and items files, or attribute
    files alone) as load_train would, its follow-ups included."""
    try:
        return sales_load_files(
            sales=files.get("sales"),
            calendar=files.get("calendar"),
            stores=files.get("stores"),
            items=files.get("items"),
            columns=mapping or None,
            append=append,
            progress=progress,
            on_wait=on_wait,
            problem_limit=problem_limit,
        )
    except OSError as error:
        raise FileRefused(f"cannot be read ({error})") from None


def file_check(
    *, files: dict[str, Path], mapping: dict[str, str], check: Callable[[Path], int], problem_limit: int
) -> int:
    """A dry run: the attribute files read as the load reads them, and the sales file in the loader's own
    form (the reader's normalized stream) handed to `check(path)`, which validates it without writing.
    Returns the sales rows, or the attribute rows when there is no sales file."""
    rows = sum(
        len(reading.attributes_read(path=files[kind], kind=kind, problem_limit=problem_limit))
        for kind in ("stores", "items")
        if kind in files
    )
    path = files.get("sales")
    if path is None:
        return rows
    calendar = files.get("calendar")
    layout = reading.layout_detect(path=path, columns=mapping or None, calendar=calendar)
    with tempfile.TemporaryDirectory(prefix="upload-check-") as folder:
        normalized = Path(folder) / "normalized.csv"
        with normalized.open("wb") as out:
            stream = reading.sales_stream(path=path, layout=layout, calendar=calendar, problem_limit=problem_limit)
            for chunk in stream:
                out.write(chunk)
        try:
            return check(normalized)
        except LoadError as error:
            raise LoadError(path=path, problems=error.problems, total=error.total) from None


def load_bytes(path: Path) -> int:
    """The temporary disk a load of `path` may take: about the size of its plain, long form."""
    return max(file_expanded_bytes(path), path.stat().st_size)


def disk_free(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free
