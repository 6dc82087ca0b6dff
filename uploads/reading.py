"""What the upload needs from a file: the checks on a compressed one, the preview the page shows, and
the plain CSV the loader reads.

This module is the one place the upload calls into the file reader: when `sales.reading` (layouts,
compression, the normalized stream) is there, these functions become calls into it.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import shutil
import struct
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings

ROLES = ("date", "store", "item", "sales")
PREVIEW_ROWS = 20
PREVIEW_BYTES = 256 * 1024
COPY_BYTES = 1 << 20
# Column names that mean a role, lower-cased (what analysts' exports call them).
ROLE_NAMES = {
    "date": {"date", "day", "ds", "sale_date", "sales_date", "week", "week_start"},
    "store": {"store", "store_id", "store_nbr", "shop", "shop_id", "location", "location_id"},
    "item": {"item", "item_id", "item_nbr", "product", "product_id", "sku", "article"},
    "sales": {"sales", "units", "unit_sales", "quantity", "qty", "sold", "units_sold", "weekly_sales"},
}
_ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_INTEGER = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d*\.\d+$")


class FileRefused(Exception):
    """The file cannot be taken (a compression bomb, an unknown format); nothing was written."""


@dataclass(frozen=True)
class ColumnGuess:
    name: str
    role: str  # one of ROLES, or "" (ignored)
    type: str  # date, integer, decimal, text or empty
    samples: list[str]


@dataclass(frozen=True)
class Preview:
    """The first rows of a file as the page shows them, with the layout and a role per column."""

    layout: str
    compression: str
    columns: list[ColumnGuess]
    rows: list[list[str]]
    rows_estimate: int | None
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def file_compression(path: Path) -> str:
    """ "gzip", "zip" or "" (plain), from the file's first bytes (never from its name)."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith((b"7z\xbc\xaf\x27\x1c", b"PAR1")):
        raise FileRefused("7z and Parquet files are not read yet: upload the CSV, plain, gzip or zip")
    return ""


def expansion_limit(*, compressed_bytes: int) -> int:
    """The most bytes a compressed file of this size may expand to."""
    return min(settings.UPLOAD_MAX_BYTES, compressed_bytes * settings.UPLOAD_MAX_EXPANSION_RATIO)


def file_expansion_check(path: Path) -> None:
    """Refuse a compressed file whose own header says it expands past the cap or a sane ratio (a zip
    bomb). The header can lie: file_prepare counts the bytes as it expands them, too."""
    kind = file_compression(path)
    size = path.stat().st_size
    if kind == "zip":
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) != 1:
                raise FileRefused(f"the zip archive holds {len(members)} files; upload one CSV per archive")
            declared = members[0].file_size
    elif kind == "gzip":
        declared = _gzip_declared(path)
    else:
        return
    _expansion_refuse(declared=declared, size=size)


def _expansion_refuse(*, declared: int, size: int) -> None:
    if declared > settings.UPLOAD_MAX_BYTES:
        raise FileRefused(
            f"the file expands to {declared:,} bytes, past the largest upload taken ({settings.UPLOAD_MAX_BYTES:,})"
        )
    if declared > expansion_limit(compressed_bytes=size):
        raise FileRefused(
            f"the file expands {declared / max(size, 1):,.0f} times (at most {settings.UPLOAD_MAX_EXPANSION_RATIO}"
            " times is taken): it looks like a compression bomb"
        )


def _open_text_head(path: Path) -> bytes:
    kind = file_compression(path)
    if kind == "gzip":
        with gzip.open(path, "rb") as handle:
            return handle.read(PREVIEW_BYTES)
    if kind == "zip":
        with zipfile.ZipFile(path) as archive:
            member = next(info for info in archive.infolist() if not info.is_dir())
            with archive.open(member) as handle:
                return handle.read(PREVIEW_BYTES)
    with path.open("rb") as handle:
        return handle.read(PREVIEW_BYTES)


def file_preview(*, path: Path, columns: dict[str, str] | None = None) -> Preview:
    """The first rows of `path`, the layout recognised and a role and type per column; `columns`
    (source column -> role, "" to ignore) overrides the guesses. Raises FileRefused."""
    kind = file_compression(path)
    head = _open_text_head(path).removeprefix(b"\xef\xbb\xbf")
    text = head.decode("utf-8", errors="replace")
    complete = text if len(head) < PREVIEW_BYTES else text[: text.rfind("\n") + 1]
    lines = list(csv.reader(io.StringIO(complete)))
    if not lines:
        raise FileRefused("the file is empty (expected a header line, e.g. date,store,item,sales)")
    header, rows = [name.strip() for name in lines[0]], lines[1 : PREVIEW_ROWS + 1]
    roles = _roles_guess(header=header, columns=columns or {})
    guesses = [
        ColumnGuess(
            name=name,
            role=roles.get(name, ""),
            type=_type_guess([row[n] for row in rows if n < len(row)]),
            samples=[row[n] for row in rows[:3] if n < len(row)],
        )
        for n, name in enumerate(header)
    ]
    missing = [role for role in ROLES if role not in roles.values()]
    estimate = None
    if len(lines) > 1 and kind == "":
        # Bytes per line in the head, times the file's size: close enough for "time left".
        estimate = int(path.stat().st_size / (len(complete.encode()) / len(lines)))
    return Preview(
        layout="long", compression=kind or "none", columns=guesses, rows=rows, rows_estimate=estimate, missing=missing
    )


def _roles_guess(*, header: list[str], columns: dict[str, str]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for name in header:
        if name in columns:
            role = columns[name]
        else:
            role = next((r for r, names in ROLE_NAMES.items() if name.lower() in names), "")
        if role in ROLES and role not in roles.values():
            roles[name] = role
    return roles


def _type_guess(values: list[str]) -> str:
    values = [value.strip() for value in values if value.strip()]
    if not values:
        return "empty"
    for name, pattern in (("date", _ISO_DATE), ("integer", _INTEGER), ("decimal", _DECIMAL)):
        if all(pattern.match(value) for value in values):
            return name
    if all(_INTEGER.match(v) or _DECIMAL.match(v) for v in values):
        return "decimal"
    return "text"


def file_prepared_bytes(*, path: Path, columns: dict[str, str]) -> int:
    """The disk space file_prepare will take: none when the loader reads `path` as it is, else about
    the size of the plain CSV (a compressed file's own header says how large)."""
    kind = file_compression(path)
    size = path.stat().st_size
    if kind == "zip":
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    if kind == "gzip":
        return max(size, _gzip_declared(path))
    with path.open("rb") as source:
        header = next(
            csv.reader([source.readline(1 << 20).decode("utf-8", errors="replace").removeprefix("\ufeff")]), []
        )
    renamed = [_column_rename(name.strip(), columns) for name in header]
    return 0 if renamed == [name.strip().lower() for name in header] else size


def _gzip_declared(path: Path) -> int:
    with path.open("rb") as handle:
        handle.seek(-4, 2)
        return struct.unpack("<I", handle.read(4))[0]  # the size modulo 2**32


def file_prepare(*, path: Path, columns: dict[str, str], target: Path) -> Path:
    """A plain CSV the loader reads, with a date,store,item,sales header from `columns` (source column
    -> role): `path` itself when nothing needs changing, else `target`, written piece by piece (bounded
    memory). A compressed file is expanded, counting bytes: past the cap or the ratio it is refused."""
    kind = file_compression(path)
    size = path.stat().st_size
    with _open_source(path, kind) as source:
        first = source.readline(1 << 20)
        header = next(csv.reader([first.decode("utf-8", errors="replace").removeprefix("\ufeff")]), [])
        renamed = [_column_rename(name.strip(), columns) for name in header]
        if kind == "" and renamed == [name.strip().lower() for name in header]:
            return path
        limit = expansion_limit(compressed_bytes=size) if kind else None
        written = 0
        with target.open("wb") as out:
            out.write(_csv_line(renamed))
            while chunk := source.read(COPY_BYTES):
                written += len(chunk)
                if limit is not None and written > limit:
                    out.close()
                    target.unlink(missing_ok=True)
                    _expansion_refuse(declared=written, size=size)
                out.write(chunk)
    return target


def _open_source(path: Path, kind: str):
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "zip":
        archive = zipfile.ZipFile(path)
        member = next(info for info in archive.infolist() if not info.is_dir())
        return archive.open(member)
    return path.open("rb")


def _column_rename(name: str, columns: dict[str, str]) -> str:
    role = columns.get(name, "")
    if role in ROLES:
        return role
    # A column not mapped keeps its name, unless that name is a role another column now holds.
    lowered = name.lower()
    return f"ignored_{lowered}" if lowered in ROLES else lowered


def _csv_line(values: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode()


def disk_free(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free
