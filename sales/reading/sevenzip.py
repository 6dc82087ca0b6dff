"""7z members, unpacked by py7zr on a thread of their own into a bounded queue that the reader drains:
py7zr pushes what it unpacks, the CSV reader pulls, and at most QUEUE_CHUNKS chunks wait between them."""

from __future__ import annotations

import contextlib
import io
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

import py7zr
import py7zr.exceptions
import py7zr.io

from sales.loading import LoadError, LoadProblem

QUEUE_CHUNKS = 16


def _fail(path: Path, message: str) -> LoadError:
    return LoadError(path=path, problems=[LoadProblem(line=None, column=None, value=None, message=message)])


class _Pipe(io.RawIOBase):
    """The reading end of a bounded queue that another thread fills (7z members unpack by push)."""

    def __init__(self, chunks: queue.Queue) -> None:
        self.chunks, self.rest, self.done = chunks, b"", False
        self.error: Exception | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.rest and not self.done:
            chunk = self.chunks.get()
            if chunk is None:
                self.done = True
            else:
                self.rest = chunk
        if self.error is not None:
            raise self.error
        size = min(len(buffer), len(self.rest))
        buffer[:size] = self.rest[:size]
        self.rest = self.rest[size:]
        return size


class _Stopped(Exception):
    """The reader closed the source before the 7z member was unpacked to its end."""


class _Writer(py7zr.io.Py7zIO):
    """Where py7zr writes a member: into the queue, until the reader has stopped."""

    def __init__(self, chunks: queue.Queue, stop: threading.Event) -> None:
        self.chunks, self.stop = chunks, stop

    def write(self, s: bytes | bytearray) -> int:
        if self.stop.is_set():
            raise _Stopped
        self.chunks.put(bytes(s))
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return 0


class _Factory(py7zr.io.WriterFactory):
    def __init__(self, chunks: queue.Queue, stop: threading.Event) -> None:
        self.chunks, self.stop = chunks, stop

    def create(self, filename: str) -> py7zr.io.Py7zIO:
        return _Writer(self.chunks, self.stop)


def member_stream(
    *, stack: contextlib.ExitStack, path: Path, raw: IO[bytes], name: str, pick: Callable[[list[str]], str]
) -> tuple[str, int | None, int, io.RawIOBase]:
    """The member of the 7z archive `raw` that `pick` chooses from the names: (its name, packed size
    if the archive says, declared size, a raw stream of its bytes). The unpacking stops when `stack`
    closes."""
    try:
        archive = stack.enter_context(py7zr.SevenZipFile(raw, mode="r"))
        infos = {info.filename: info for info in archive.list()}
    except (py7zr.exceptions.ArchiveError, py7zr.exceptions.Bad7zFile, EOFError, OSError, KeyError) as error:
        raise _fail(path, f"{name} is a corrupt 7z archive ({error})") from None
    member = pick(list(infos))
    info = infos[member]
    chunks: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)
    pipe, stop = _Pipe(chunks), threading.Event()

    def unpack() -> None:
        try:
            archive.extract(targets=[member], factory=_Factory(chunks, stop))
        except _Stopped:
            pass
        except Exception as error:  # reported to the reader, which names the file
            pipe.error = _fail(path, f"{name}/{member} is a corrupt 7z archive ({error})")
        finally:
            with contextlib.suppress(queue.Full):
                chunks.put(None, timeout=5)

    worker = threading.Thread(target=unpack, name="7z-unpack", daemon=True)
    worker.start()

    def finish() -> None:
        stop.set()
        while worker.is_alive():  # drain, so that the writer is never stuck on a full queue
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.1)

    stack.callback(finish)
    return member, int(info.compressed) if info.compressed else None, int(info.uncompressed or 0), pipe
