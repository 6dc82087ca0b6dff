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
    problem_limit: int = MAX_LISTED_PROBLEMS,
) -> Iterator[bytes]:
    """Chunks of the normalized CSV of `path` (header first). LoadError, naming the source file, line,
    column and value, when a row is bad; rows already yielded are then to be thrown away. Once a block
    is bad nothing more is yielded, but the rest of the file is still checked: the error lists the first
    `problem_limit` bad values and counts them all."""
    stats = stats if stats is not None else ReadStats()
    checker = _Checker(path=path, layout=layout, limit=problem_limit)
    with source_open(path=path) as opened:
        header = header_read(path=path, opened=opened)
        if header != layout.header:
            raise LoadError(path=path, problems=[LoadProblem(1, None, None, "the header changed since it was read")])
        if layout.name == "m5":
            days = _calendar_for(path=path, layout=layout, calendar=calendar, problem_limit=problem_limit)
            chunks = _wide_chunks(path=path, opened=opened, layout=layout, days=days, checker=checker, stats=stats)
        else:
            kept = layout.extras if extras else []
            chunks = _long_chunks(path=path, opened=opened, layout=layout, extras=kept, checker=checker, stats=stats)
        names = [role for role in ROLES if role in layout.roles]
        names += [name.lower() for name in layout.extras] if extras else []
        yield (",".join(names) + "\n").encode()
        try:
            for table in chunks:
                if checker.total:
                    continue  # a bad file: only its problems are wanted now
                if not extras:
                    table = table.select([role for role in ROLES if role in layout.roles])
                stats.rows_written += table.num_rows
                yield _csv_bytes(table)
                if progress is not None:
                    progress("reading", stats.rows_written)
        except LoadError as error:
            if error.problems[0].line is not None:
                raise checker.fail(error.problems, total=error.total) from None
            located = _line_problem(path=path, layout=layout)
            raise (error if located is None else checker.fail([located])) from None
        if checker.total:
            raise checker.fail([])


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


def _calendar_for(*, path: Path, layout: Layout, calendar: Path | None, problem_limit: int) -> Calendar:
    if calendar is None:
        problem = LoadProblem(1, None, None, "M5's wide layout needs its calendar (--calendar calendar.csv)")
        raise LoadError(path=path, problems=[problem])
    known = calendar_read(path=calendar, problem_limit=problem_limit)
    unknown = [n for n in layout.header if DAY_COLUMN.fullmatch(n.lower()) and n.lower() not in known.dates]
    if unknown:
        problems = [LoadProblem(1, n, None, f"is not a day of the calendar {calendar}") for n in unknown]
        problems = problems[:problem_limit]
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
        if checker.total:
            continue  # a bad file: the rest is only checked, not expanded
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
    """The checks every block goes through; remembers the hierarchy seen so far, and the problems found:
    the first `limit` (in line order) and how many (`total`)."""

    def __init__(self, *, path: Path, layout: Layout, limit: int) -> None:
        self.path, self.layout, self.limit = path, layout, limit
        self.parents: dict[tuple[str, str], dict[str, tuple[str, int]]] = {pair: {} for pair in HIERARCHY}
        self.weekday: tuple[int, int] | None = None
        self.problems: list[LoadProblem] = []
        self.total = 0
        self._block: list[LoadProblem] = []

    def source(self, role: str) -> str:
        return self.layout.roles.get(role, role)

    def fail(self, problems: list[LoadProblem], total: int | None = None) -> LoadError:
        """The error of the file: the problems found in the blocks checked so far, then `problems`."""
        listed = [*self.problems, *problems][: max(self.limit, 1)]
        count = self.total + (len(problems) if total is None else total)
        return LoadError(path=self.path, problems=listed, total=count)

    def _found(self, problems: list[LoadProblem], count: int) -> None:
        self.total += count
        self._block.extend(problems)

    def _block_end(self) -> None:
        """A block's problems come from several checks, each in line order: merged, the first ones kept."""
        room = self.limit - len(self.problems)
        self.problems += sorted(self._block, key=lambda p: p.line or 0)[: max(room, 0)]
        self._block = []

    def units(self, *, batch: Batch, values: pa.Array) -> pa.Array:
        """The units column with surplus zeros dropped; the values that are not decimals are recorded."""
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
        self._record_bad(batch, "sales", values, good, "is not a decimal number (at most 3 decimal places)")
        return values

    def check(self, *, batch: Batch, columns: dict[str, pa.Array]) -> None:
        """Record the block's problems (the units' were recorded by `units`)."""
        if "date" in columns:
            self._dates(batch, columns["date"])
        for role in ("store", "item"):
            values = columns[role]
            length = pc.utf8_length(values)
            good = pc.and_(pc.greater(length, 0), pc.less_equal(length, CODE_MAX_LENGTH))
            self._record_bad(batch, role, values, good, f"is not a code (1 to {CODE_MAX_LENGTH} characters)")
        for child, parent in HIERARCHY:
            if child in columns and parent in columns:
                self._hierarchy(batch, child, parent, columns[child], columns[parent])
        self._block_end()

    def _record_bad(self, batch: Batch, role: str, values: pa.Array, good: pa.Array, message: str) -> None:
        """Record the values that are not `good` (the stream raises once the file has been read)."""
        good = pc.fill_null(good, False)
        if pc.all(good).as_py() is not False:
            return
        bad = np.flatnonzero(~good.to_numpy(zero_copy_only=False))
        room = max(self.limit - len(self.problems), 0)
        problems = [
            LoadProblem(batch.first_line + int(i), self.source(role), _show(values[int(i)].as_py() or ""), message)
            for i in bad[:room]
        ]
        self._found(problems, len(bad))

    def _dates(self, batch: Batch, values: pa.Array) -> None:
        # A file holds few distinct dates: each is checked once, through the dictionary.
        encoded = values.dictionary_encode()
        distinct = encoded.dictionary
        parsed = pc.strptime(distinct, format="%Y-%m-%d", unit="s", error_is_null=True)
        good = pc.and_(pc.match_substring_regex(distinct, DATE_SHAPE), pc.is_valid(parsed))
        self._record_bad(batch, "date", values, self._per_row(encoded, good), "is not an ISO date (YYYY-MM-DD)")
        if self.layout.frequency != "W" or not len(values):
            return
        weekdays = pc.day_of_week(parsed)
        if self.weekday is None:
            # The first valid date sets the weekday (a bad one was reported above, not compared).
            valid = self._per_row(encoded, good).to_numpy(zero_copy_only=False)
            if not valid.any():
                return
            first = int(valid.argmax())
            self.weekday = (weekdays[encoded.indices[first].as_py()].as_py(), batch.first_line + first)
        day, line = self.weekday
        good = self._per_row(encoded, pc.or_kleene(pc.equal(weekdays, day), pc.invert(good)))
        message = f"falls on another weekday than line {line}'s {WEEKDAYS[day]} (the file is weekly)"
        self._record_bad(batch, "date", values, good, message)

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
                self._found([LoadProblem(line, self.source(parent), _show(value), message)], 1)


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
