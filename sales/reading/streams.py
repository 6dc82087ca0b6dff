"""The normalized sales stream: CSV text with a header of role names, in ROLES order where present
(then the extras, when asked for), a block of rows at a time.

Each block is checked where it is read, so that an error names the source file, line, column and
value: dates are ISO (YYYY-MM-DD), store and item codes are present and at most CODE_MAX_LENGTH
characters, units are decimals with at most 3 places (more places are accepted when only zeros),
a weekly file's dates all fall on one weekday, and an item stays in one department and category,
a department in one category, a store in one region.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from sales.loading import MAX_LISTED_PROBLEMS, LoadError, LoadProblem, _show
from sales.reading.calendars import Calendar, calendar_read
from sales.reading.layouts import DAY_COLUMN, M5_EVENTS, ROLES, Layout
from sales.reading.sources import source_open
from sales.reading.tables import Batch, batches_read, header_read, line_find

CODE_MAX_LENGTH = 64
DATE_SHAPE = r"^\d{4}-\d\d-\d\d$"
DECIMAL_SHAPE = r"^-?\d{1,15}(\.\d{1,3})?$"
# Zeros past the third decimal place say nothing: 1.5000 is 1.5.
SURPLUS_ZEROS = (r"^(-?\d+\.\d{1,3}?)0+$", r"\1")
# Rows of normalized output per chunk: bounds what a wide block expands to.
OUTPUT_ROWS = 200_000
WIDE_BLOCK_BYTES = 1 << 20
HIERARCHY = (("item", "department"), ("item", "category"), ("department", "category"), ("store", "region"))
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Progress = Callable[[str, int], None]


@dataclass
class ReadStats:
    """What a stream read and wrote. For the wide layout `cells` counts every (store, item, day) of
    the file and `trimmed` the zeros before each item's first sale that were left out."""

    rows_read: int = 0
    cells: int = 0
    rows_written: int = 0
    trimmed: int = 0


def sales_stream(
    *,
    path: Path,
    layout: Layout,
    calendar: Path | None = None,
    progress: Progress | None = None,
    extras: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[bytes]:
    """Chunks of the normalized CSV of `path` (header first). LoadError, naming the source file, line,
    column and value, when a row is bad; rows already yielded are then to be thrown away."""
    stats = stats if stats is not None else ReadStats()
    checker = _Checker(path=path, layout=layout)
    with source_open(path=path) as opened:
        header = header_read(path=path, opened=opened)
        if header != layout.header:
            raise LoadError(path=path, problems=[LoadProblem(1, None, None, "the header changed since it was read")])
        if layout.name == "m5":
            days = _calendar_for(path=path, layout=layout, calendar=calendar)
            chunks = _wide_chunks(path=path, opened=opened, layout=layout, days=days, checker=checker, stats=stats)
        else:
            kept = layout.extras if extras else []
            chunks = _long_chunks(path=path, opened=opened, layout=layout, extras=kept, checker=checker, stats=stats)
        names = [role for role in ROLES if role in layout.roles]
        names += [name.lower() for name in layout.extras] if extras else []
        yield (",".join(names) + "\n").encode()
        try:
            for table in chunks:
                if not extras:
                    table = table.select([role for role in ROLES if role in layout.roles])
                stats.rows_written += table.num_rows
                yield _csv_bytes(table)
                if progress is not None:
                    progress("reading", stats.rows_written)
        except LoadError as error:
            if error.problems[0].line is not None:
                raise
            located = _line_problem(path=path, layout=layout)
            raise (error if located is None else LoadError(path=path, problems=[located])) from None


def _csv_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    try:
        pcsv.write_csv(table, out, pcsv.WriteOptions(include_header=False, quoting_style="none"))
    except pa.ArrowInvalid:  # a name with a comma or a quote: quote what needs it
        out = io.BytesIO()
        pcsv.write_csv(table, out, pcsv.WriteOptions(include_header=False, quoting_style="needed"))
    return out.getvalue()


# ---------------------------------------------------------------- long layouts


def _long_chunks(
    *, path: Path, opened, layout: Layout, extras: list[str], checker: _Checker, stats: ReadStats
) -> Iterator[pa.Table]:
    sources = list(dict.fromkeys([*layout.roles.values(), *extras]))
    roles = {role: column for role, column in layout.roles.items()}
    for batch in batches_read(path=path, opened=opened, header=layout.header, wanted=sources):
        stats.rows_read += batch.rows
        columns = {role: batch.columns[column] for role, column in roles.items()}
        columns["sales"] = checker.units(batch=batch, values=columns["sales"])
        checker.check(batch=batch, columns=columns)
        extra = {name: batch.columns[name] for name in extras}
        yield pa.table(columns | extra)


# ---------------------------------------------------------------- the wide layout


def _calendar_for(*, path: Path, layout: Layout, calendar: Path | None) -> Calendar:
    if calendar is None:
        problem = LoadProblem(1, None, None, "M5's wide layout needs its calendar (--calendar calendar.csv)")
        raise LoadError(path=path, problems=[problem])
    known = calendar_read(path=calendar)
    unknown = [n for n in layout.header if DAY_COLUMN.fullmatch(n.lower()) and n.lower() not in known.dates]
    if unknown:
        problems = [LoadProblem(1, n, None, f"is not a day of the calendar {calendar}") for n in unknown]
        raise LoadError(path=path, problems=problems, total=len(unknown))
    return known


def _wide_chunks(
    *, path: Path, opened, layout: Layout, days: Calendar, checker: _Checker, stats: ReadStats
) -> Iterator[pa.Table]:
    day_columns = [n for n in layout.header if DAY_COLUMN.fullmatch(n.lower())]
    dates = pa.array([days.dates[n.lower()] for n in day_columns])
    events = {name: pa.array([days.events[n.lower()][k] for n in day_columns]) for k, name in enumerate(M5_EVENTS)}
    keys = [layout.roles[role] for role in ("store", "item", "category", "department", "region")]
    batches = batches_read(
        path=path,
        opened=opened,
        header=layout.header,
        wanted=keys + day_columns,
        integers=frozenset(day_columns),
        block_bytes=WIDE_BLOCK_BYTES,
    )
    for batch in batches:
        stats.rows_read += batch.rows
        units = _wide_matrix(path=path, batch=batch, day_columns=day_columns)
        labels = {
            role: batch.columns[layout.roles[role]] for role in ("store", "item", "category", "department", "region")
        }
        checker.check(batch=batch, columns=labels)
        sold = units != 0
        has_sale = sold.any(axis=1)
        first = np.where(has_sale, sold.argmax(axis=1), units.shape[1])
        live = np.arange(units.shape[1])[None, :] >= first[:, None]
        stats.cells += units.size
        stats.trimmed += units.size - int(live.sum())
        rows, cols = np.nonzero(live)
        for start in range(0, len(rows), OUTPUT_ROWS):
            r, c = rows[start : start + OUTPUT_ROWS], cols[start : start + OUTPUT_ROWS]
            table = {"date": dates.take(c)} | {role: labels[role].take(r) for role in ("store", "item")}
            table["sales"] = pa.array(units[r, c])
            table |= {role: labels[role].take(r) for role in ("category", "department", "region")}
            yield pa.table(table | {name: values.take(c) for name, values in events.items()})


def _wide_matrix(*, path: Path, batch: Batch, day_columns: list[str]) -> np.ndarray:
    for name in day_columns:
        column = batch.columns[name]
        if column.null_count:
            index = pc.index(pc.is_null(column), True).as_py()
            problem = LoadProblem(batch.first_line + index, name, "''", "is empty (a day without sales is 0)")
            raise LoadError(path=path, problems=[problem])
    return np.column_stack([batch.columns[name].to_numpy() for name in day_columns])


# ---------------------------------------------------------------- checks


class _Checker:
    """The checks every block goes through; remembers the hierarchy seen so far."""

    def __init__(self, *, path: Path, layout: Layout) -> None:
        self.path, self.layout = path, layout
        self.parents: dict[tuple[str, str], dict[str, tuple[str, int]]] = {pair: {} for pair in HIERARCHY}
        self.weekday: tuple[int, int] | None = None

    def source(self, role: str) -> str:
        return self.layout.roles.get(role, role)

    def fail(self, problems: list[LoadProblem], total: int | None = None) -> LoadError:
        return LoadError(path=self.path, problems=problems, total=total)

    def units(self, *, batch: Batch, values: pa.Array) -> pa.Array:
        """The units column with surplus zeros dropped; LoadError at the first values that are not decimals."""
        # Whole numbers need no pattern; a cast that fails costs far more than a look for a point first.
        if not pc.any(pc.match_substring(values, ".")).as_py():
            try:
                values.cast(pa.int64())
                return values
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        good = pc.match_substring_regex(values, DECIMAL_SHAPE)
        if pc.all(good).as_py():
            return values
        values = pc.replace_substring_regex(values, pattern=SURPLUS_ZEROS[0], replacement=SURPLUS_ZEROS[1])
        good = pc.match_substring_regex(values, DECIMAL_SHAPE)
        self._raise_bad(batch, "sales", values, good, "is not a decimal number (at most 3 decimal places)")
        return values

    def check(self, *, batch: Batch, columns: dict[str, pa.Array]) -> None:
        if "date" in columns:
            self._dates(batch, columns["date"])
        for role in ("store", "item"):
            values = columns[role]
            length = pc.utf8_length(values)
            good = pc.and_(pc.greater(length, 0), pc.less_equal(length, CODE_MAX_LENGTH))
            self._raise_bad(batch, role, values, good, f"is not a code (1 to {CODE_MAX_LENGTH} characters)")
        for child, parent in HIERARCHY:
            if child in columns and parent in columns:
                self._hierarchy(batch, child, parent, columns[child], columns[parent])

    def _raise_bad(self, batch: Batch, role: str, values: pa.Array, good: pa.Array, message: str) -> None:
        good = pc.fill_null(good, False)
        if pc.all(good).as_py() is not False:
            return
        bad = np.flatnonzero(~good.to_numpy(zero_copy_only=False))
        problems = [
            LoadProblem(batch.first_line + int(i), self.source(role), _show(values[int(i)].as_py() or ""), message)
            for i in bad[:MAX_LISTED_PROBLEMS]
        ]
        raise self.fail(problems, total=len(bad))

    def _dates(self, batch: Batch, values: pa.Array) -> None:
        # A file holds few distinct dates: each is checked once, through the dictionary.
        encoded = values.dictionary_encode()
        distinct = encoded.dictionary
        parsed = pc.strptime(distinct, format="%Y-%m-%d", unit="s", error_is_null=True)
        good = pc.and_(pc.match_substring_regex(distinct, DATE_SHAPE), pc.is_valid(parsed))
        self._raise_bad(batch, "date", values, self._per_row(encoded, good), "is not an ISO date (YYYY-MM-DD)")
        if self.layout.frequency != "W" or not len(values):
            return
        weekdays = pc.day_of_week(parsed)
        if self.weekday is None:
            self.weekday = (weekdays[encoded.indices[0].as_py()].as_py(), batch.first_line)
        day, line = self.weekday
        good = self._per_row(encoded, pc.equal(weekdays, day))
        message = f"falls on another weekday than line {line}'s {WEEKDAYS[day]} (the file is weekly)"
        self._raise_bad(batch, "date", values, good, message)

    @staticmethod
    def _per_row(encoded: pa.DictionaryArray, good: pa.Array) -> pa.Array:
        return pc.fill_null(good, False).take(encoded.indices)

    def _hierarchy(self, batch: Batch, child: str, parent: str, keys: pa.Array, parents: pa.Array) -> None:
        table = pa.table({"k": keys, "p": parents, "i": pa.array(np.arange(len(keys)))})
        table = table.filter(pc.greater(pc.utf8_length(table["p"]), 0))
        pairs = table.group_by(["k", "p"]).aggregate([("i", "min")]).sort_by("i_min")
        seen = self.parents[(child, parent)]
        for key, value, index in zip(*(pairs.column(n).to_pylist() for n in ("k", "p", "i_min")), strict=True):
            line = batch.first_line + index
            known = seen.setdefault(key, (value, line))
            if known[0] != value:
                message = f"puts {child} {key!r} in {parent} {value!r}, line {known[1]} in {known[0]!r}"
                problem = LoadProblem(line, self.source(parent), _show(value), message)
                raise self.fail([problem])


def _line_problem(*, path: Path, layout: Layout) -> LoadProblem | None:
    """The line the fast reader failed on, by reading the file again line by line: a wrong number of
    fields, or (wide files) a day column that is not a whole number. None when not found."""
    positions = (
        [i for i, n in enumerate(layout.header) if DAY_COLUMN.fullmatch(n.lower())] if layout.name == "m5" else []
    )

    def check(fields: list[str]) -> tuple[str, str, str] | None:
        for i in positions:
            text = fields[i]
            if not (text.isdigit() or (text.startswith("-") and text[1:].isdigit())):
                return layout.header[i], text, "is not a whole number of units"
        return None

    with source_open(path=path) as opened:
        header_read(path=path, opened=opened)
        return line_find(path=path, source=opened, header=layout.header, check=check)
