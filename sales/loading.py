"""The machinery behind `sales_load_csv`: header parsing, the COPY into a staging
table, set-based validation and the bulk write into sales_sale.

Why a staging table of text columns: PostgreSQL's COPY parses CSV at C speed,
but a typed COPY stops at the first bad value without saying much, and accepts
more than ISO dates and plain integers. The raw text is copied first; the write
into sales_sale keeps only rows whose fields survive a cast and print back
unchanged (one pass, no regular expressions). Only when a row was left out, or a
cast or constraint failed, do slower set-based queries name the line, column
and value of each problem. Those checks (_COLUMN_CHECKS) accept exactly what
the fast path accepts: canonical ISO dates, and units as plain decimals with at
most 9 digits before the point and 3 after, negative ones included (returns).

Line numbers: the staging table is created fresh and filled by one COPY in one
transaction, so its physical (ctid) order is the file order; `row_number() OVER
(ORDER BY ctid)` recovers them on the error path without paying for a sequence on
every row of the happy path.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.db import DatabaseError, connection, transaction

from sales import rollups, swap

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("date", "store", "item", "sales")
# The other roles of the normalized stream (sales.reading), read when present.
OPTIONAL_COLUMNS = ("store_name", "item_name", "category", "department", "region", "unit")
CODE_MAX_LENGTH = 64
# The problems a load lists by default (load_train's message); a caller may ask for more (the upload's report).
MAX_LISTED_PROBLEMS = 10
CHUNK_BYTES = 1 << 20
MAX_HEADER_BYTES = 64 * 1024
# The staging table has a text column per CSV column; PostgreSQL allows 1,600 columns a table.
MAX_COLUMNS = 1_000
UTF8_BOM = b"\xef\xbb\xbf"
STAGING_TABLE = "sales_load_staging"

# A field is valid when it casts and prints back as itself: '2017-01-05' but not
# '2017-1-5' or 'Jan 5 2017'; '12', '7.5', '5.020' and '-2' but not ' 12', '+12', '012', '1e3' or '.5'
# (numeric keeps the decimals it is given, so '5.020' prints back as itself). The session's
# DateStyle is pinned to ISO so that a date prints as YYYY-MM-DD.
# The length check keeps out what PostgreSQL accepts as a date but Python cannot read back
# ('infinity', '-infinity', years past 9999): one such row would break every later read.
# Units: more than 3 decimals would be rounded by numeric(12,3), so they are refused (scale); 'NaN' and
# 'Infinity' have no scale (NULL), so they are refused too; more than 9 digits before the point fail the
# cast into the column, and the error path names them. A negative zero ('-0', '-0.0') prints as '0', hence
# its own test, only reached by the rare value that does not print back.
# Store and item codes are checked by the join that turns them into ids (catalogue_create_from_staging
# only creates valid ones, see _CODE_OK).
_FAST_VALID = (
    "length({d}) = 10 AND {d}::date::text = {d} "
    "AND ({v}::numeric::text = {v} OR {v} ~ '^-0(\\.0{{1,3}})?$') AND scale({v}::numeric) <= 3"
)

# The same rules without any cast that could fail, for the error report. Dates:
# the shape first, then the calendar, inside CASE so that nothing is cast
# before its shape is known. Units: an optional minus, digits without a leading zero (at most 9), and
# at most 3 decimals.
_DATE_OK = """CASE
    WHEN {c} IS NULL OR {c} !~ '^\\d{{4}}-\\d\\d-\\d\\d$' THEN false
    WHEN substr({c}, 1, 4)::int < 1 OR substr({c}, 6, 2)::int NOT BETWEEN 1 AND 12 THEN false
    ELSE substr({c}, 9, 2)::int BETWEEN 1 AND extract(day FROM
        make_date(substr({c}, 1, 4)::int, substr({c}, 6, 2)::int, 1) + interval '1 month - 1 day')
END"""
_UNITS_OK = "({c} IS NOT NULL AND {c} ~ '^-?(0|[1-9]\\d{{0,8}})(\\.\\d{{1,3}})?$')"
# A code: 1 to CODE_MAX_LENGTH characters, no comma (the API's list separator), no control character,
# no space at either end.
_CODE_OK = (
    "({c} IS NOT NULL AND length({c}) <= " + str(CODE_MAX_LENGTH) + " AND {c} = btrim({c}) AND {c} !~ '[,[:cntrl:]]')"
)
_CODE_MESSAGE = (
    f"is not a code (1 to {CODE_MAX_LENGTH} characters, no comma, no space at either end; every row needs one)"
)
_COLUMN_CHECKS = {
    "date": (_DATE_OK, "is not an ISO date (YYYY-MM-DD)"),
    "store": (_CODE_OK, _CODE_MESSAGE),
    "item": (_CODE_OK, _CODE_MESSAGE),
    "sales": (
        _UNITS_OK,
        "is not a number of units (such as 12, 7.5 or -2: at most 3 decimals, below 1,000,000,000)",
    ),
}


@dataclass(frozen=True)
class LoadProblem:
    """One thing wrong with the file. `line` counts from 1 (the header); `value`
    is shown as is (already quoted and shortened)."""

    line: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        prefix = ", ".join(where)
        value = "" if self.value is None else f"{self.value} "
        return f"{prefix}: {value}{self.message}" if prefix else f"{value}{self.message}"


class LoadError(Exception):
    """The file cannot be loaded. Nothing was written. `problems` are the first ones found, as many as the
    load was asked to list (its `problem_limit`), `total` how many there are; the message (what load_train
    prints) lists the first MAX_LISTED_PROBLEMS of them."""

    def __init__(self, *, path: Path, problems: list[LoadProblem], total: int | None = None):
        self.path = path
        self.problems = problems
        self.total = max(total if total is not None else len(problems), len(self.problems))
        super().__init__(self._describe())

    def _describe(self) -> str:
        if self.total == 1:
            return f"{self.path}: {self.problems[0]}"
        listed = self.problems[:MAX_LISTED_PROBLEMS]
        head = f"{self.path}: {self.total:,} problems"
        head += f" (first {len(listed)} listed)" if len(listed) < self.total else ""
        return "\n".join([head + ":", *(f"  {p}" for p in listed)])


@dataclass(frozen=True)
class CsvLayout:
    """Where the required columns are in the file, and where its data starts."""

    names: list[str]
    positions: dict[str, int]
    data_offset: int
    warnings: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.names)


def _show(value: str | bytes, limit: int = 40) -> str:
    text = repr(value if len(value) <= limit else value[:limit])
    return text if len(value) <= limit else text + "..."


def csv_read_header(*, path: Path) -> CsvLayout:
    """Check that `path` is a readable, non-empty CSV whose header names date,
    store, item and sales (any order, any case; extra columns are ignored with a
    warning). Raises LoadError otherwise."""

    def fail(message: str, *, line: int | None = None, value: str | None = None) -> LoadError:
        return LoadError(path=path, problems=[LoadProblem(line=line, column=None, value=value, message=message)])

    if not path.exists():
        raise fail("no such file")
    if path.is_dir():
        raise fail("is a directory, not a CSV file")
    try:
        with path.open("rb") as handle:
            head = handle.read(MAX_HEADER_BYTES + len(UTF8_BOM))
    except OSError as error:
        raise fail(f"cannot be read ({error.strerror})") from None
    offset = len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0
    if not head[offset:].strip():
        raise fail("the file is empty (expected a header line: date,store,item,sales)")
    end = head.find(b"\n", offset)
    if end == -1 and len(head) > MAX_HEADER_BYTES:
        raise fail(f"line 1 is longer than {MAX_HEADER_BYTES:,} bytes: this is not a date,store,item,sales CSV", line=1)
    raw = head[offset:] if end == -1 else head[offset:end]
    try:
        text = raw.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        raise fail("the header is not UTF-8 text (is this a CSV file?)", line=1, value=_show(raw)) from None
    if "\x00" in text:
        raise fail("the header contains NUL bytes (is this a CSV file?)", line=1, value=_show(text))
    if "\r" in text:
        # Lines ending in a bare CR (Excel for Mac's "CSV (Macintosh)"): the whole file reads as one line.
        raise fail("line 1 ends in a bare carriage return (old Mac line endings); save with LF or CRLF", line=1)
    try:
        names = [name.strip().lower() for name in next(csv.reader([text]), [])]
    except csv.Error as error:
        raise fail(f"the header is not a CSV line ({error})", line=1, value=_show(text)) from None
    if len(names) > MAX_COLUMNS:
        raise fail(f"the header has {len(names):,} columns; at most {MAX_COLUMNS:,} are read", line=1)
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    doubled = sorted({name for name in names if name in REQUIRED_COLUMNS and names.count(name) > 1})
    if missing or doubled:
        detail = f"missing {', '.join(missing)}" if missing else f"{', '.join(doubled)} more than once"
        raise fail(f"the header must name date, store, item and sales ({detail})", line=1, value=_show(text))
    warnings = []
    extra = [name or "(blank)" for name in names if name not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    if extra:
        warnings.append(f"{path}: ignoring extra column(s) {', '.join(extra)}")
    data_offset = len(head) if end == -1 else end + 1
    return CsvLayout(
        names=names,
        positions={name: names.index(name) for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if name in names},
        data_offset=data_offset,
        warnings=warnings,
    )


# ---------------------------------------------------------------- staging


def staging_create(*, cursor, layout: CsvLayout) -> None:
    """A temporary table of text columns, one per CSV column (c0, c1, ...),
    dropped when the load's transaction ends either way."""
    columns = ", ".join(f"c{i} text" for i in range(layout.width))
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGING_TABLE}")
    cursor.execute(f"CREATE TEMPORARY TABLE {STAGING_TABLE} ({columns}) ON COMMIT DROP")


def staging_copy(*, cursor, path: Path, layout: CsvLayout, progress: Callable[[str, int], None] | None = None) -> int:
    """Stream the data lines of `path` into the staging table with COPY. Returns
    the number of rows copied. Raises psycopg errors when PostgreSQL rejects the
    file's structure or encoding."""
    columns = ", ".join(f"c{i}" for i in range(layout.width))
    lines = 0
    last_char = b"\n"
    with path.open("rb") as handle:
        handle.seek(layout.data_offset)
        with cursor.cursor.copy(f"COPY {STAGING_TABLE} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
            while chunk := handle.read(CHUNK_BYTES):
                copy.write(chunk)
                lines += chunk.count(b"\n")
                last_char = chunk[-1:]
                if progress is not None:
                    progress("reading", lines + (last_char != b"\n"))
    copied = cursor.cursor.rowcount
    # Statistics for the join that turns codes into ids: without them the planner guesses a tiny table and
    # probes the catalogue's index once per row instead of hashing it.
    cursor.execute(f"ANALYZE {STAGING_TABLE}")
    return copied


def _staged(layout: CsvLayout, name: str) -> str:
    return f"c{layout.positions[name]}"


def staging_date_range(*, cursor, layout: CsvLayout) -> tuple[str | None, str | None]:
    """First and last date of the staging table as text: ISO dates sort as
    text, and when any is malformed the write refuses the file anyway."""
    d = _staged(layout, "date")
    cursor.execute(f'SELECT min({d} COLLATE "C"), max({d} COLLATE "C") FROM {STAGING_TABLE}')
    return cursor.fetchone()


def staging_problems(*, cursor, layout: CsvLayout, limit: int = MAX_LISTED_PROBLEMS) -> tuple[list[LoadProblem], int]:
    """Every bad value in the staging table, the first `limit` of them
    with line, column and value, and how many there are in all."""
    branches = []
    for name, (check, message) in _COLUMN_CHECKS.items():
        column = _staged(layout, name)
        branches.append(
            f"SELECT line, {layout.positions[name]} AS position, '{name}' AS name, {column} AS value, "
            f"'{message}' AS message FROM numbered WHERE NOT ({check.format(c=column)})"
        )
    cursor.execute(
        f"""
        WITH numbered AS (SELECT row_number() OVER (ORDER BY ctid) + 1 AS line, * FROM {STAGING_TABLE}),
        problems AS ({" UNION ALL ".join(branches)})
        SELECT count(*) OVER (), line, name, value, message FROM problems ORDER BY line, position LIMIT %s
        """,
        [limit],
    )
    rows = cursor.fetchall()
    problems = [
        LoadProblem(line=line, column=name, value=_show("" if value is None else value), message=message)
        for _, line, name, value, message in rows
    ]
    return problems, rows[0][0] if rows else 0


def staging_duplicates(*, cursor, layout: CsvLayout, limit: int = MAX_LISTED_PROBLEMS) -> tuple[list[LoadProblem], int]:
    """Rows that repeat an earlier (date, store, item) of the file, the first `limit` of them and how
    many there are. Only asked once every value is valid, so equal text is an equal key."""
    d, s, i = (_staged(layout, name) for name in ("date", "store", "item"))
    cursor.execute(
        f"""
        WITH numbered AS (SELECT row_number() OVER (ORDER BY ctid) + 1 AS line, {d} AS d, {s} AS s, {i} AS i
                          FROM {STAGING_TABLE}),
        repeats AS (SELECT line, d, s, i, min(line) OVER (PARTITION BY d, s, i) AS first FROM numbered)
        SELECT count(*) OVER (), line, d, s, i, first FROM repeats WHERE line > first ORDER BY line LIMIT %s
        """,
        [limit],
    )
    rows = cursor.fetchall()
    problems = [
        LoadProblem(
            line=line,
            column="date,store,item",
            value=_show(f"{d},{s},{i}"),
            message=f"repeats line {first} (each date, store and item may appear once)",
        )
        for _, line, d, s, i, first in rows
    ]
    return problems, rows[0][0] if rows else 0


@dataclass(frozen=True)
class CatalogueKind:
    """Stores or items, as the loader creates them from the staged codes."""

    table: str
    role: str  # the stream's code column
    name_role: str  # its display-name column
    default_name: str  # the name of a new one the stream does not name: "Store CA_1"
    parents: tuple[str, ...]  # the stream's hierarchy columns for it (an item's department and category)

    @property
    def keys_table(self) -> str:
        return f"load_keys_{self.role}"


STORES = CatalogueKind("sales_store", "store", "store_name", "Store ", ("region",))
ITEMS = CatalogueKind("sales_item", "item", "item_name", "Item ", ("department", "category"))


def catalogue_keys_stage(*, cursor, layout: CsvLayout, kind: CatalogueKind) -> list[str]:
    """One pass over the staging table: each distinct code with its name and the parents the file gives it,
    into a small temporary table (kind.keys_table: code, name, then the parents). The catalogue's new codes
    and the file's hierarchy are then read from it, not from every staged row. Returns the parents present."""
    parents = [parent for parent in kind.parents if parent in layout.positions]
    name = f"nullif(max({_staged(layout, kind.name_role)}), '')" if kind.name_role in layout.positions else "NULL"
    code = _staged(layout, kind.role)
    grouped = [code, *(_staged(layout, parent) for parent in parents)]
    selected = [f"{code} AS code", f"{name} AS name", *(f"{_staged(layout, p)} AS {p}" for p in parents)]
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{kind.keys_table}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {kind.keys_table} ON COMMIT DROP AS "
        f"SELECT {', '.join(selected)} FROM {STAGING_TABLE} GROUP BY {', '.join(grouped)}"
    )
    return parents


def catalogue_create_from_staging(*, cursor, layout: CsvLayout, kind: CatalogueKind) -> int:
    """Create the stores (items) whose codes the staging table names and the catalogue lacks, with the
    stream's name where it gives one; existing ones are kept as they are (an admin may have renamed one).
    Returns how many distinct valid codes the file names. Reads kind.keys_table (catalogue_keys_stage).
    Codes that are not valid are left out: the write then refuses their rows and says where."""
    named = (
        # Grouped first, so that the code's checks run once per distinct code, not once per row.
        f"SELECT code, name FROM (SELECT code, max(name) AS name FROM {kind.keys_table} GROUP BY code) g "
        f"WHERE {_CODE_OK.format(c='code')}"
    )
    return catalogue_insert_new(cursor=cursor, kind=kind, named=named)


def catalogue_insert_new(*, cursor, kind: CatalogueKind, named: str, params: list | None = None) -> int:
    """Insert the codes of `named` (a SELECT of valid code, name, taking `params`) that the catalogue lacks,
    named "Store <code>" when their name is null. Returns how many codes `named` holds.

    Ids: a code that is a whole number n gets id n when that id is free, so that a history loaded before
    codes existed keeps its ids; any other code gets the next id above every id in use, in code order."""
    # Two loads (or a load and the catalogue loader) must not hand out the same id.
    cursor.execute(f"LOCK TABLE {kind.table} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute(
        f"""
        WITH named AS ({named}),
        new AS (
            SELECT code, name, CASE WHEN named.code ~ '^[1-9][0-9]{{0,8}}$'
                AND NOT EXISTS (SELECT FROM {kind.table} t WHERE t.id = named.code::int)
                THEN named.code::int END AS wanted
            FROM named WHERE NOT EXISTS (SELECT FROM {kind.table} t WHERE t.code = named.code)
        ),
        top AS (SELECT greatest((SELECT coalesce(max(id), 0) FROM {kind.table}),
                                (SELECT coalesce(max(wanted), 0) FROM new)) AS id),
        inserted AS (
            INSERT INTO {kind.table} (id, code, name, attributes)
            SELECT coalesce(wanted, top.id + row_number() OVER (PARTITION BY wanted IS NULL ORDER BY code)),
                   code, coalesce(name, %s || code), '{{}}'
            FROM new, top
        )
        SELECT count(*) FROM named
        """,
        [*(params or []), kind.default_name],
    )
    return cursor.fetchone()[0]


def staging_parent_lines(*, cursor, layout: CsvLayout, kind: CatalogueKind, code: str, parent: str) -> list[tuple]:
    """The first staged line of each distinct `parent` value of one code: (line, value), in file order.
    Only on the error path (a code under two parents), so it may scan."""
    cursor.execute(
        f"""
        WITH numbered AS (SELECT row_number() OVER (ORDER BY ctid) + 1 AS line, {_staged(layout, kind.role)} AS code,
                                 {_staged(layout, parent)} AS parent FROM {STAGING_TABLE})
        SELECT min(line), parent FROM numbered WHERE code = %s GROUP BY parent ORDER BY 1
        """,
        [code],
    )
    return cursor.fetchall()


# ---------------------------------------------------------------- structure (error path)


def file_structure_problems(
    *, path: Path, layout: CsvLayout, limit: int = MAX_LISTED_PROBLEMS
) -> tuple[list[LoadProblem], int]:
    """Read the file line by line for what COPY refuses before any value is
    looked at: bytes that are not UTF-8, NUL bytes, stray carriage returns,
    mixed line endings, unbalanced quotes and lines with the wrong number of
    columns; the first `limit` and how many. Only runs after COPY has failed, so it may be slow."""
    problems: list[LoadProblem] = []
    total = 0

    def add(line: int, value: str | bytes, message: str) -> None:
        nonlocal total
        total += 1
        if len(problems) < limit:
            problems.append(LoadProblem(line=line, column=None, value=_show(value), message=message))

    with path.open("rb") as handle:
        handle.seek(layout.data_offset)
        crlf: bool | None = None  # COPY takes the first data line's ending for the whole file
        for line, raw in enumerate(handle, start=2):
            body = raw[:-1] if raw.endswith(b"\n") else raw
            ends_crlf = body.endswith(b"\r")
            body = body[:-1] if ends_crlf else body
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as error:
                add(line, body, f"is not UTF-8 text (byte {error.start + 1} is 0x{body[error.start]:02x})")
                continue
            if crlf is None and raw.endswith(b"\n"):
                crlf = ends_crlf
            if "\x00" in text:
                add(line, text, "contains a NUL byte")
            elif "\r" in text:
                add(line, text, "contains a carriage return inside the line")
            elif raw.endswith(b"\n") and ends_crlf != crlf:
                add(line, text, f"ends in {'CRLF' if ends_crlf else 'LF'} but line 2 in {'CRLF' if crlf else 'LF'}")
            elif text.count('"') % 2:
                add(line, text, "has an unbalanced double quote")
            else:
                try:
                    width = len(next(csv.reader(io.StringIO(text)), [""]))
                except csv.Error as error:  # e.g. a field past the csv module's size limit
                    add(line, text, f"is not a CSV line ({error})")
                    continue
                if width != layout.width:
                    add(line, text, f"has {width} column(s), the header has {layout.width}")
    return problems, total


def database_error_problem(error: Exception) -> LoadProblem:
    """PostgreSQL's own words, for a failure the other checks did not explain.
    COPY counts lines after the header, the file from the header."""
    # Django wraps psycopg's errors; the diagnostics stay on the original.
    diag = getattr(error, "diag", None) or getattr(error.__cause__, "diag", None)
    message = (diag.message_primary if diag else None) or (str(error).splitlines() or [type(error).__name__])[0]
    context = (diag.context if diag else None) or ""
    line = None
    if ", line " in context:
        number = context.split(", line ", 1)[1].split(",")[0].split(":")[0]
        line = int(number) + 1 if number.isdigit() else None
    return LoadProblem(line=line, column=None, value=None, message=f"could not be loaded: {message}")


# ---------------------------------------------------------------- writing


class StepFailed(Exception):
    """A write step found the file wanting and was rolled back."""


def sales_replace_from_staging(*, cursor, layout: CsvLayout, shift_days: int, shadow: swap.Shadow) -> int:
    """Fill sales_sale's shadow (`swap.shadow_create`: a new, empty table beside it) from the staging
    table, then build its indexes and constraints; `history_swap_in` puts it in sales_sale's place.
    Readers keep reading the old history meanwhile.

    Building each index once after the rows are in costs several times less than maintaining it row by
    row. The unique constraint raises IntegrityError if the file repeats a (date, store, item).

    Returns the number of rows written: fewer than staged means some row was
    not valid (and the caller must roll back)."""
    cursor.execute(f"INSERT INTO {shadow.name} (date, store_id, item_id, sales) {_typed_select(layout, shift_days)}")
    written = cursor.rowcount
    swap.shadow_index(cursor=cursor, shadow=shadow)
    return written


def history_swap_in(*, cursor, sale: swap.Shadow, on_retry: Callable[[], None] | None = None) -> None:
    """After `sales_replace_from_staging`: rebuild the rollups from sales_sale's shadow (each into a shadow
    of its own), refresh the planner's statistics (they follow a table when it is renamed), and swap them
    all in at once. Readers wait for the swap only. `on_retry`: `swap.shadows_swap_in`'s."""
    shadows = [sale, *rollups.rollups_build(cursor=cursor, sale_table=sale.name)]
    # Fresh statistics now, rather than whenever autovacuum gets to it: the planner's choices for the API
    # depend on them.
    cursor.execute(f"ANALYZE {', '.join(shadow.name for shadow in shadows)}")
    swap.shadows_swap_in(cursor=cursor, shadows=shadows, on_retry=on_retry)


DELTA_TABLE = "load_delta"


def sales_upsert_from_staging(*, cursor, layout: CsvLayout, shift_days: int) -> int:
    """Insert the staged rows, overwriting the units of (date, store, item) days
    already present, and leave what changed in DELTA_TABLE for rollups_add.
    Returns the number of rows written, as sales_replace_from_staging does.

    The file is checked before the upsert rather than by it: a rolled-back
    upsert would still have drawn ids from sales_sale's sequence, and a failed
    load must leave no trace."""
    d, s, i, _ = (_staged(layout, name) for name in REQUIRED_COLUMNS)
    cursor.execute(f"SELECT (SELECT count(*) FROM ({_typed_select(layout, 0)}) AS t), count(*) FROM {STAGING_TABLE}")
    valid, staged = cursor.fetchone()
    if valid != staged:
        return valid
    cursor.execute(f"SELECT EXISTS (SELECT FROM {STAGING_TABLE} GROUP BY {d}, {s}, {i} HAVING count(*) > 1)")
    if cursor.fetchone()[0]:
        raise StepFailed("the file repeats a (date, store, item)")
    typed = _typed_select(layout, shift_days)
    # One per transaction (ON COMMIT DROP); a caller's outer transaction may hold two appends.
    cursor.execute(f"DROP TABLE IF EXISTS {DELTA_TABLE}")
    cursor.execute(
        f"SELECT EXISTS (SELECT FROM sales_dailytotal WHERE date IN (SELECT n.date FROM ({typed}) AS n (date)))"
    )
    if not cursor.fetchone()[0]:
        return _sales_insert_new_days(cursor=cursor, typed=typed)
    # What the upsert changes, taken before it: the rollups then grow by these deltas instead of being
    # rebuilt from the whole table, so an append costs what the file holds.
    cursor.execute(
        f"""
        CREATE TEMPORARY TABLE {DELTA_TABLE} ON COMMIT DROP AS
        SELECT n.date, n.store_id, n.item_id, n.sales - coalesce(o.sales, 0) AS sales, (o.id IS NULL)::int AS rows
        FROM ({typed}) AS n (date, store_id, item_id, sales)
        LEFT JOIN sales_sale o USING (date, store_id, item_id)
        """
    )
    cursor.execute(
        f"""
        INSERT INTO sales_sale (date, store_id, item_id, sales) {typed}
        ON CONFLICT (date, store_id, item_id) DO UPDATE SET sales = EXCLUDED.sales, generated = false
        """
    )
    return cursor.rowcount


def _sales_insert_new_days(*, cursor, typed: str) -> int:
    """The usual append: days the history does not hold yet (the rollups know which days it holds).
    Every row is new, so there are no old units to look up (one index probe per series for a day,
    tens of thousands) and a plain INSERT does; the unique constraint still refuses a row that slipped in meanwhile,
    and the load then fails whole. Rows go in by item, then store: the (item, date, store) index's
    entries for a day then arrive leaf by leaf."""
    cursor.execute(
        f"""
        CREATE TEMPORARY TABLE {DELTA_TABLE} ON COMMIT DROP AS
        SELECT date, store_id, item_id, sales, 1 AS rows FROM ({typed}) AS n (date, store_id, item_id, sales)
        """
    )
    cursor.execute(
        f"INSERT INTO sales_sale (date, store_id, item_id, sales) "
        f"SELECT date, store_id, item_id, sales FROM {DELTA_TABLE} ORDER BY item_id, date, store_id"
    )
    return cursor.rowcount


def _typed_select(layout: CsvLayout, shift_days: int) -> str:
    """The staged rows that are valid, typed, with their codes turned into ids (a code left out of the
    catalogue because it is not valid drops its row, and the write then refuses the file).

    The codes are joined inside a fenced subquery (OFFSET 0) and the validity filter applied outside it:
    PostgreSQL cannot estimate the filter's cast-and-compare conditions, guesses that one row passes, and
    then joins every staged row to the catalogues by nested loops, a scan of every store and item per row
    (a cost that grows with the catalogue). Unfiltered, the join is estimated at the staged rows and hashed."""
    d, s, i, v = (_staged(layout, name) for name in REQUIRED_COLUMNS)
    shift = f" + {int(shift_days)}" if shift_days else ""
    valid = _FAST_VALID.format(d=f"n.{d}", v=f"n.{v}")
    joined = (
        f"SELECT n.{d}, st.id AS store_id, it.id AS item_id, n.{v} FROM {STAGING_TABLE} n "
        f"JOIN sales_store st ON st.code = n.{s} JOIN sales_item it ON it.code = n.{i} OFFSET 0"
    )
    return f"SELECT n.{d}::date{shift}, n.store_id, n.item_id, n.{v}::numeric(12, 3) FROM ({joined}) AS n WHERE {valid}"


def tables_vacuum() -> None:
    """VACUUM the sales tables after a full load has committed (VACUUM cannot run inside a transaction).

    It sets the visibility map. Until then an index-only scan (the covering item index, the rollups' keys)
    still visits the heap page of every row it returns. Autovacuum's insert trigger would get to the table too,
    but only at its next round (autovacuum_naptime) and then in the background, while the first requests pay
    for it. The tables are new (sales.swap), without dead rows, so the indexes are not scanned."""
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM sales_sale, {', '.join(rollups.TABLES)}")


def write_step(fn: Callable[[], int], *, expect: int | None = None) -> tuple[int | None, Exception | None]:
    """Run `fn` in a savepoint. Returns (its result, None), or (None, the
    database error it raised) after rolling the savepoint back, so that the
    staging table can still be queried for the reason. With `expect`, a result
    other than `expect` also rolls back (as StepFailed)."""
    try:
        with transaction.atomic():
            result = fn()
            if expect is not None and result != expect:
                raise StepFailed(f"wrote {result} rows of {expect}")
    except (DatabaseError, psycopg.Error, StepFailed) as error:
        return None, error
    return result, None


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started
