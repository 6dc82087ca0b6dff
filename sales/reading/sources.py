"""Opening a file as it was downloaded: plain, gzip, zip (also a zip inside a zip), 7z or Parquet.

Every layer is recognised by its first bytes, not by its name. Archives holding several files give
the one whose name says what is asked for (`train.csv` for sales, `calendar.csv`, `stores.csv`,
`items.csv`). Nothing is unpacked to disk: each layer streams into the next, so memory stays
bounded whatever the size.

A layer that expands past MAX_RATIO times its packed size (beyond a small allowance) or past
MAX_EXPANDED_BYTES is refused as an archive bomb: zip and 7z members by the sizes their
directories declare, before anything is unpacked; gzip and 7z streams also while they unpack.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from sales.loading import LoadError, LoadProblem

MAX_RATIO = 100
# Small files may compress far better than real data (a column of zeros): below this nothing is refused.
RATIO_ALLOWANCE_BYTES = 64 << 20
MAX_EXPANDED_BYTES = 256 << 30
MAX_DEPTH = 3
BUFFER_BYTES = 1 << 20

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
PARQUET_MAGIC = b"PAR1"

# What a member of an archive is called, for each kind of file asked for, most specific first.
MEMBER_HINTS = {
    "sales": ("sales_train_evaluation", "sales_train_validation", "train", "sales"),
    "calendar": ("calendar",),
    "stores": ("stores",),
    "items": ("items",),
}
DATA_SUFFIXES = (".csv", ".txt", ".gz", ".zip", ".7z", ".parquet", ".tsv")


@dataclass
class Opened:
    """An opened source: `stream` (bytes of CSV text) or `parquet` (a pyarrow ParquetFile), and
    `name`, the path and the members it went through (`walmart.zip/train.csv.zip/train.csv`)."""

    name: str
    stream: IO[bytes] | None = None
    parquet: Any = None
    compressed: bool = False
    # A plain file on disk, which pyarrow reads natively (without Python in the loop).
    file: Path | None = None


def _fail(path: Path, message: str) -> LoadError:
    return LoadError(path=path, problems=[LoadProblem(line=None, column=None, value=None, message=message)])


def ratio_check(*, path: Path, name: str, packed: int, unpacked: int) -> None:
    """Refuse `unpacked` bytes out of `packed` when past the ratio (beyond the allowance) or the ceiling."""
    if unpacked > MAX_EXPANDED_BYTES or unpacked > max(RATIO_ALLOWANCE_BYTES, MAX_RATIO * max(packed, 1)):
        raise _fail(
            path,
            f"{name} expands from {packed:,} to more than {unpacked:,} bytes (over {MAX_RATIO}:1 or "
            f"{MAX_EXPANDED_BYTES >> 30} GiB): refused as an archive bomb",
        )


class _Guarded(io.RawIOBase):
    """Counts what an unpacking stream yields and stops it once past the ratio."""

    def __init__(self, inner: IO[bytes] | io.BufferedIOBase, *, path: Path, name: str, packed: int) -> None:
        self.inner, self.path, self.name, self.packed, self.count = inner, path, name, packed, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.inner.read(len(buffer))
        self.count += len(data)
        ratio_check(path=self.path, name=self.name, packed=self.packed, unpacked=self.count)
        buffer[: len(data)] = data
        return len(data)


def _is_zip(head: bytes) -> bool:
    return head.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC))


def member_pick(*, path: Path, names: list[str], kind: str) -> str:
    """The member of an archive to read for `kind`: the only data file, else the one the hints name."""
    files = [n for n in names if not n.endswith("/") and not Path(n).name.startswith(".")]
    data = [n for n in files if Path(n).name.lower().endswith(DATA_SUFFIXES)] or files
    if len(data) == 1:
        return data[0]
    for hint in MEMBER_HINTS[kind]:
        found = [n for n in data if Path(n).name.lower().startswith(hint)]
        if len(found) == 1:
            return found[0]
    listed = ", ".join(data[:12]) or "nothing"
    raise _fail(path, f"the archive holds {listed}; none is clearly the {kind} file (unpack it and name the file)")


@contextlib.contextmanager
def source_open(*, path: Path, kind: str = "sales") -> Iterator[Opened]:
    """Open `path` through every compression layer. LoadError when it is missing, unreadable, a
    corrupt or empty archive, a bomb, or an archive without a clear `kind` member."""
    path = Path(path)
    if not path.exists():
        raise _fail(path, "no such file")
    if path.is_dir():
        raise _fail(path, "is a directory, not a file")
    with contextlib.ExitStack() as stack:
        try:
            handle = stack.enter_context(path.open("rb"))
        except OSError as error:
            raise _fail(path, f"cannot be read ({error.strerror})") from None
        size = path.stat().st_size
        try:
            yield _layers_open(stack=stack, path=path, raw=handle, name=str(path), packed=size, kind=kind)
        except (zipfile.BadZipFile, zlib.error, EOFError, gzip.BadGzipFile) as error:
            raise _fail(path, f"is a corrupt archive ({error})") from None


def _layers_open(*, stack, path: Path, raw: IO[bytes], name: str, packed: int, kind: str, depth: int = 0) -> Opened:
    if depth > MAX_DEPTH:
        raise _fail(path, f"archives nested more than {MAX_DEPTH} deep")
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(io.RawIOBase, raw), BUFFER_BYTES)
    head = buffered.peek(8)[:8]
    compressed = depth > 0
    if head.startswith(GZIP_MAGIC):
        inner = gzip.GzipFile(fileobj=buffered, mode="rb")
        guarded = _Guarded(inner, path=path, name=name, packed=packed)
        return _layers_open(
            stack=stack,
            path=path,
            raw=io.BufferedReader(guarded, BUFFER_BYTES),
            name=name.removesuffix(".gz"),
            packed=packed,
            kind=kind,
            depth=depth + 1,
        )
    if _is_zip(head):
        return _zip_open(stack=stack, path=path, raw=buffered, name=name, kind=kind, depth=depth)
    if head.startswith(SEVEN_ZIP_MAGIC):
        return _seven_zip_open(stack=stack, path=path, raw=buffered, name=name, kind=kind, depth=depth)
    if head.startswith(PARQUET_MAGIC):
        import pyarrow.parquet as pq

        try:
            return Opened(name=name, parquet=pq.ParquetFile(buffered), compressed=compressed)
        except Exception as error:  # pyarrow raises its own errors for a damaged footer
            raise _fail(path, f"{name} is not a readable Parquet file ({error})") from None
    return Opened(name=name, stream=buffered, compressed=compressed, file=None if compressed else path)


def _zip_open(*, stack, path: Path, raw: IO[bytes], name: str, kind: str, depth: int) -> Opened:
    archive = stack.enter_context(zipfile.ZipFile(raw))
    member = member_pick(path=path, names=archive.namelist(), kind=kind)
    info = archive.getinfo(member)
    ratio_check(path=path, name=f"{name}/{member}", packed=info.compress_size, unpacked=info.file_size)
    if info.flag_bits & 0x1:
        raise _fail(path, f"{name}/{member} is encrypted")
    inner = stack.enter_context(archive.open(member))
    # A zip member stops at the size its directory declares and checks its CRC: no guard needed.
    return _layers_open(
        stack=stack,
        path=path,
        raw=inner,
        name=f"{name}/{member}",
        packed=info.compress_size,
        kind=kind,
        depth=depth + 1,
    )


def _seven_zip_open(*, stack, path: Path, raw: IO[bytes], name: str, kind: str, depth: int) -> Opened:
    from sales.reading import sevenzip

    def pick(names: list[str]) -> str:
        return member_pick(path=path, names=names, kind=kind)

    member, declared, unpacked, pipe = sevenzip.member_stream(stack=stack, path=path, raw=raw, name=name, pick=pick)
    packed = max(declared or packed_size(raw), 1)
    ratio_check(path=path, name=f"{name}/{member}", packed=packed, unpacked=unpacked)
    guarded = _Guarded(io.BufferedReader(pipe, BUFFER_BYTES), path=path, name=f"{name}/{member}", packed=packed)
    return _layers_open(
        stack=stack,
        path=path,
        raw=io.BufferedReader(guarded, BUFFER_BYTES),
        name=f"{name}/{member}",
        packed=packed,
        kind=kind,
        depth=depth + 1,
    )


def packed_size(raw: IO[bytes]) -> int:
    with contextlib.suppress(OSError, AttributeError, ValueError):
        position = raw.tell()
        end = raw.seek(0, io.SEEK_END)
        raw.seek(position)
        return end
    return 1
