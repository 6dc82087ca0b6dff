"""Record batches out of an opened source, every column as text (or whole numbers where asked), with
pyarrow's streaming CSV reader: it parses in C++ on several threads, a block at a time, so memory
stays bounded by the block size whatever the file's size. Parquet sources give the same batches.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from sales.loading import LoadError, LoadProblem, _show
from sales.reading.layouts import MAX_HEADER_BYTES, header_parse
from sales.reading.sources import Opened

# pyarrow reads a fixed number of blocks ahead of the consumer: the block size bounds the memory it holds.
BLOCK_BYTES = 2 << 20
PARQUET_BATCH_ROWS = 100_000


@dataclass(frozen=True)
class Batch:
    """A block of rows: `columns` by source column name, `first_line` the file line of its first row."""

    columns: dict[str, pa.Array]
    first_line: int
    rows: int


def header_read(*, path: Path, opened: Opened) -> list[str]:
    """Read (and consume) the header of a CSV source, or the column names of a Parquet one."""
    if opened.parquet is not None:
        return list(opened.parquet.schema_arrow.names)
    assert opened.stream is not None
    return header_parse(path=path, raw=opened.stream.readline(MAX_HEADER_BYTES), name=opened.name)


def batches_read(
    *,
    path: Path,
    opened: Opened,
    header: list[str],
    wanted: list[str],
    integers: frozenset[str] = frozenset(),
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[Batch]:
    """The `wanted` columns of the rows after the header, as text (`integers` as int64). LoadError
    naming the line when the CSV is malformed (wrong number of fields, bad quotes, not UTF-8)."""
    if opened.parquet is not None:
        yield from _parquet_batches(path=path, opened=opened, wanted=wanted, integers=integers)
        return
    positions = {name: header.index(name) for name in wanted}
    generated = [f"c{i}" for i in range(len(header))]
    types = {f"c{i}": (pa.int64() if name in integers else pa.string()) for name, i in positions.items()}
    reader_options = pcsv.ReadOptions(column_names=generated, block_size=block_bytes)
    convert = pcsv.ConvertOptions(include_columns=[f"c{i}" for i in positions.values()], column_types=types)
    with contextlib.ExitStack() as stack:
        yield from _csv_batches(
            path=path,
            opened=opened,
            header=header,
            positions=positions,
            stack=stack,
            read=reader_options,
            convert=convert,
        )


def _csv_batches(
    *,
    path: Path,
    opened: Opened,
    header: list[str],
    positions: dict[str, int],
    stack: contextlib.ExitStack,
    read: pcsv.ReadOptions,
    convert: pcsv.ConvertOptions,
) -> Iterator[Batch]:
    line = 2
    try:
        source = opened.stream
        if opened.file is not None:
            source = stack.enter_context(pa.OSFile(str(opened.file)))
            assert opened.stream is not None  # a plain file is opened as a stream too
            source.seek(opened.stream.tell())
        reader = pcsv.open_csv(source, read_options=read, convert_options=convert)
        for record in reader:
            columns = {name: record.column(f"c{i}") for name, i in positions.items()}
            yield Batch(columns=columns, first_line=line, rows=record.num_rows)
            line += record.num_rows
    except (pa.ArrowException, UnicodeDecodeError) as error:
        raise LoadError(path=path, problems=[_arrow_problem(error, line=line, header=header)]) from None


def _arrow_problem(error: Exception, *, line: int, header: list[str]) -> LoadProblem:
    """Arrow's message, with the line (counted from the block it failed in) and the column it names."""
    message = str(error).split("\n")[0]
    column = None
    for i, name in enumerate(header):
        if f"column #{i}:" in message or f"'c{i}'" in message:
            column = name
            break
    if "Expected" in message and "columns" in message:
        return LoadProblem(line=None, column=None, value=None, message=f"from line {line} on: {message}")
    if "conversion error" in message:
        value = message.rsplit("invalid value", 1)[-1].strip()
        return LoadProblem(line=None, column=column, value=value, message=f"from line {line} on: is not a whole number")
    return LoadProblem(line=None, column=column, value=None, message=f"from line {line} on: {message}")


def _parquet_batches(*, path: Path, opened: Opened, wanted: list[str], integers: frozenset[str]) -> Iterator[Batch]:
    line = 2  # counted as a CSV of the same rows would be (header on line 1)
    for record in opened.parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
        columns = {}
        for name in wanted:
            array = record.column(name)
            columns[name] = _as_integers(path, name, array, line) if name in integers else text_of(array)
        yield Batch(columns=columns, first_line=line, rows=record.num_rows)
        line += record.num_rows


def text_of(array: pa.Array) -> pa.Array:
    """A typed column as the text a CSV would hold: ISO dates, decimals to 3 places at most."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return array.cast(pa.string())
    if pa.types.is_dictionary(kind):
        return text_of(array.cast(kind.value_type))
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return pc.strftime(array, format="%Y-%m-%d")
    if pa.types.is_floating(kind):
        # A float column holds binary fractions; 3 places is the precision units are kept to.
        return pc.round(array, 3).cast(pa.string())
    return array.cast(pa.string())


def _as_integers(path: Path, name: str, array: pa.Array, line: int) -> pa.Array:
    if pa.types.is_integer(array.type):
        return array.cast(pa.int64())
    try:
        return array.cast(pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        problem = LoadProblem(line=None, column=name, value=None, message=f"from line {line} on: not whole numbers")
        raise LoadError(path=path, problems=[problem]) from None


def line_find(*, path: Path, source: Opened, header: list[str], check) -> LoadProblem | None:
    """The first line of a re-opened CSV source that is not UTF-8, whose field count differs from
    the header's, or whose fields `check(fields)` finds wrong (column, value, message). Only used
    once the fast reader has failed, so it may be slow; a quoted field spanning lines is not followed."""
    if source.stream is None:
        return None
    for line, raw in enumerate(source.stream, start=2):
        body = raw.rstrip(b"\r\n")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            message = f"is not UTF-8 text (byte {error.start + 1} is 0x{body[error.start]:02x})"
            return LoadProblem(line=line, column=None, value=_show(body), message=message)
        try:
            fields = next(csv.reader([text]), [])
        except csv.Error as error:
            return LoadProblem(line=line, column=None, value=_show(text), message=f"is not a CSV line ({error})")
        if len(fields) != len(header):
            message = f"has {len(fields)} fields; the header has {len(header)}"
            return LoadProblem(line=line, column=None, value=_show(",".join(fields)), message=message)
        found = check(fields)
        if found is not None:
            return LoadProblem(line=line, column=found[0], value=_show(found[1]), message=found[2])
    return None
