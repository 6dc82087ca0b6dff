"""Writes to the sales history. Every write keeps the daily rollups in step."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from core.registry import Registry
from sales import catalogue, loading, reading, rollups, selectors, swap
from sales.catalogue import CatalogueSource
from sales.loading import LoadError, LoadProblem
from sales.models import DailyTotal
from sales.signals import history_loaded

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaleRow:
    """Units of one item sold in one store on one day: a whole number, or a Decimal with at most three
    decimals (Sale.sales), negative for returns."""

    date: date
    store_id: int
    item_id: int
    sales: int | Decimal


# Units add up; a row stays generated only while every batch into it was (Sale.generated).
_SALE_ADD = """
    INSERT INTO sales_sale (date, store_id, item_id, sales, generated)
    SELECT date, store_id, item_id, sales, %s
    FROM unnest(%s::date[], %s::int[], %s::int[], %s::numeric[]) AS t (date, store_id, item_id, sales)
    ON CONFLICT (date, store_id, item_id) DO UPDATE
        SET sales = sales_sale.sales + EXCLUDED.sales, generated = sales_sale.generated AND EXCLUDED.generated
    RETURNING date, store_id, item_id, (xmax = 0) AS inserted
"""
# The batch's deltas for the rollups: its units, and 1 for each (date, store, item) it created.
_BATCH_DELTAS = (
    "(SELECT * FROM unnest(%s::date[], %s::int[], %s::int[], %s::numeric[], %s::int[])"
    " AS u (date, store_id, item_id, sales, rows))"
)


def sales_record_batch(*, rows: Iterable[SaleRow], generated: bool = False) -> Decimal:
    """Add `rows` to the history: each row's units are added to that (date, store,
    item) day, and to every rollup, in one transaction.

    This is the one write path for new sales (the live generator, the gap fill and
    the ingest API all call it). `generated`: the units were drawn by the demo's
    generator, not reported (Sale.generated). Callers validate that stores and items
    exist. Returns the total units added (exact: Decimal arithmetic, as in the database).
    """
    per_sale: dict[tuple, Decimal] = defaultdict(Decimal)
    for row in rows:
        per_sale[(row.date, row.store_id, row.item_id)] += Decimal(row.sales)
    if not per_sale:
        return Decimal(0)
    keys = list(per_sale)
    columns = [[key[n] for key in keys] for n in range(3)]
    units = [per_sale[key] for key in keys]
    # The ORM's bulk upsert can only overwrite on conflict; sales must be added, so this is SQL.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SALE_ADD, [generated, *columns, units])
        created = {(day, store, item) for day, store, item, inserted in cursor.fetchall() if inserted}
        counts = [int(key in created) for key in keys]
        rollups.rollups_add(cursor=cursor, deltas=_BATCH_DELTAS, params=[*columns, units, counts])
    return sum(units, Decimal(0))


# ---------------------------------------------------------------- loading the history

# A history aligned to today ends in the week before it. The app that can draw the days between
# (streaming, from the live generator's profile) registers its gap filler here in its AppConfig.ready:
# sales imports none of the apps built on it. Called inside the load's transaction as
# fill(start=, end=) -> the days it filled, [start, end] inclusive, with generated sales.
GapFill = Callable[..., list[date]]
GAP_FILL: Registry[GapFill] = Registry("history gap filler")


def history_gap_fill_after(*, after: date) -> list[date]:
    """Fill the days after `after` up to yesterday that have no sales with generated ones (registered
    filler; none registered: nothing; a weekly history: nothing, since a generated day between its weeks
    would be a day no other week has). Returns the days filled."""
    start, end = after + timedelta(days=1), timezone.localdate() - timedelta(days=1)
    fill = GAP_FILL.one()
    if fill is None or start > end or selectors.history_frequency() == selectors.WEEKLY:
        return []
    return fill(start=start, end=end)


# A demo left off for longer than this is not caught up day by day: reload it (`load_train --align-to-today`).
GAP_FILL_MAX_DAYS = 31


def history_gap_fill_since_last(*, max_days: int = GAP_FILL_MAX_DAYS) -> list[date]:
    """Fill the whole days between the last day with sales (before today) and today with generated
    sales: a demo restarted after days off runs up to today again. Nothing when the history ends more
    than `max_days` ago (a real history, not a demo's). Returns the days filled."""
    today = timezone.localdate()
    last = DailyTotal.objects.filter(date__lt=today).aggregate(last=Max("date"))["last"]
    if last is None or (today - last).days - 1 > max_days:
        return []
    return history_gap_fill_after(after=last)


# One load at a time, whoever starts it (load_train, an upload from the browser): a PostgreSQL advisory
# lock held by the load's transaction, so a load whose process dies releases it with its connection.
LOAD_LOCK_KEY = 0x5A1E_5_10AD
LOAD_LOCK_POLL_SECONDS = 1.0


def load_lock_take(*, cursor, on_wait: Callable[[], None] | None = None) -> None:
    """Take the load lock for the rest of the current transaction, waiting while another load holds it.
    `on_wait()` is called before each wait (to say so, or to raise and give up). Polled rather than
    blocking, so that a statement timeout does not end the wait and `on_wait` may stop it."""
    while True:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOAD_LOCK_KEY])
        if cursor.fetchone()[0]:
            return
        if on_wait is not None:
            on_wait()
        time.sleep(LOAD_LOCK_POLL_SECONDS)


@dataclass(frozen=True)
class LoadSummary:
    """What a load did. Dates are after any --align-to-today shift; `rows`,
    `stores`, `items` and the dates describe the file, `total_rows` what
    sales_sale holds afterwards; `timings` are seconds since the start at the
    end of each stage (copied, written, rollups, committed). `frequency`: the history's after the load
    (selectors.history_frequency): a weekly one is aligned by whole weeks and gets no generated days."""

    path: Path
    rows: int
    total_rows: int
    date_from: date
    date_to: date
    stores: int
    items: int
    seconds: float
    appended: bool
    shift_days: int
    warnings: list[str] = field(default_factory=list)
    generated_days: list[date] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    frequency: str = selectors.DAILY


def align_shift_days(*, last: date, today: date) -> int:
    """The whole number of weeks (in days) that moves `last` into the 7 days
    before `today` (today - 7 .. today - 1). Whole weeks keep every weekday."""
    return ((today - timedelta(days=1)) - last).days // 7 * 7


def sales_load_csv(
    *,
    path: Path,
    append: bool = False,
    align_to_today: bool = False,
    progress: Callable[[str, int], None] | None = None,
    followups: bool = True,
    on_wait: Callable[[], None] | None = None,
    problem_limit: int = loading.MAX_LISTED_PROBLEMS,
    attributes: Sequence[CatalogueSource] = (),
) -> LoadSummary:
    """Load a date,store,item,sales CSV into the sales history in one transaction.

    By default the file replaces the whole history; with `append` its rows are
    upserted (a (date, store, item) already present takes the file's units).
    Stores and items are named by code; those it names are created when missing (as "Store <code>" /
    "Item <code>" unless the file has a name column),
    and the daily rollups are rebuilt from sales_sale. A replace writes the new history beside the old one
    and swaps it in at the end (`sales.swap`): reads get the old history until the load commits. With `align_to_today`
    every date moves by the whole number of weeks that puts the last one in the
    week before today (`timezone.localdate()`, the TIME_ZONE setting), and the days
    between it and today are filled with generated sales (`history_gap_fill_after`), so
    the history runs up to today without a hole.

    `progress(stage, rows)` is called while the file streams in ("reading") and
    at each later stage. With `followups`, `sales.signals.history_loaded` is sent
    after commit (the apps built on sales refresh what they derive from it).
    One load runs at a time (load_lock_take): `on_wait()` is called while another holds the lock.
    The file's own hierarchy columns and the `attributes` files are stored in the same transaction.

    Raises LoadError (nothing written) when the file cannot be read, its header
    lacks a required column, any row is malformed or repeated, or the hierarchy contradicts itself or the
    catalogue; it lists the first `problem_limit` problems with the count of all. They are looked for only
    once the fast path has failed.
    """
    path = Path(path)
    run = _LoadRun(clock=loading.Stopwatch(), progress=progress, problem_limit=problem_limit)
    layout = loading.csv_read_header(path=path)
    for warning in layout.warnings:
        logger.warning(warning)
    with transaction.atomic(), connection.cursor() as cursor:
        load_lock_take(cursor=cursor, on_wait=on_wait)
        written = _load_in_transaction(
            cursor=cursor,
            path=path,
            layout=layout,
            run=run,
            append=append,
            align_to_today=align_to_today,
            attributes=attributes,
        )
        if followups:
            transaction.on_commit(lambda: history_loaded.send_robust(sender=LoadSummary, appended=append))
        run.stage("rollups", written.rows)
    if not append and not connection.in_atomic_block:
        run.stage("committed", written.rows)
        loading.tables_vacuum()
    summary = _load_summary(path=path, layout=layout, run=run, written=written, append=append)
    _load_logged(summary=summary)
    return summary


def _load_logged(*, summary: LoadSummary) -> None:
    logger.info(
        "history loaded",
        extra={
            "path": str(summary.path),
            "rows": summary.rows,
            "append": summary.appended,
            "shift_days": summary.shift_days,
            "seconds": round(summary.seconds, 2),
        },
    )


@dataclass
class _LoadRun:
    """A load's clock, its stage timings, whom to tell about progress, and how many problems a refusal lists."""

    clock: loading.Stopwatch
    progress: Callable[[str, int], None] | None
    problem_limit: int = loading.MAX_LISTED_PROBLEMS
    timings: dict[str, float] = field(default_factory=dict)

    def stage(self, name: str, rows: int = 0) -> None:
        self.timings[name] = round(self.clock.seconds, 3)
        if self.progress is not None:
            self.progress(name, rows)


@dataclass(frozen=True)
class _Written:
    """What the transaction wrote: the file's rows, dates (as text, before any shift) and keys."""

    rows: int
    total_rows: int
    first: str
    last: str
    shift_days: int
    stores: int
    items: int
    generated_days: list[date]
    frequency: str


def _load_in_transaction(
    *, cursor, path: Path, layout, run: _LoadRun, append: bool, align_to_today: bool, attributes
) -> _Written:
    """Staging, codes and hierarchy, the write, the rollups and the gap fill, inside the load's transaction."""
    # Index builds after a bulk insert are much faster with room to sort in
    # memory; dates must print as YYYY-MM-DD for the validity check.
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
    rows = _load_copy(cursor=cursor, path=path, layout=layout, progress=run.progress, problem_limit=run.problem_limit)
    run.stage("copied", rows)
    first, last = loading.staging_date_range(cursor=cursor, layout=layout)
    shift_days = _load_shift(last=last) if align_to_today else 0
    stores, items = _load_keys_create(cursor=cursor, layout=layout)
    regrouped = _load_catalogue(cursor=cursor, path=path, layout=layout, attributes=attributes)
    shadow = _load_write(
        cursor=cursor,
        path=path,
        layout=layout,
        rows=rows,
        shift_days=shift_days,
        append=append,
        problem_limit=run.problem_limit,
    )
    assert first is not None and last is not None  # the write refused a file with a missing date
    run.stage("written", rows)
    # While the swap waits for readers the stage is said again: a cancelled upload stops there.
    still_written = None if run.progress is None else functools.partial(run.progress, "written", rows)
    total_rows = _load_rollups(cursor=cursor, shadow=shadow, rows=rows, on_retry=still_written, regrouped=regrouped)
    generated_days: list[date] = []
    if align_to_today:
        run.stage("rebuilt", rows)
        # After the swap (it writes through sales_record_batch into sales_sale): readers wait for these few days.
        generated_days = history_gap_fill_after(after=date.fromisoformat(last) + timedelta(days=shift_days))
        if generated_days:
            cursor.execute("SELECT coalesce(sum(rows), 0) FROM sales_dailytotal")
            total_rows = cursor.fetchone()[0]
    frequency = selectors.history_frequency()
    return _Written(rows, total_rows, first, last, shift_days, stores, items, generated_days, frequency)


def _load_summary(*, path: Path, layout, run: _LoadRun, written: _Written, append: bool) -> LoadSummary:
    seconds = run.clock.seconds
    return LoadSummary(
        path=path,
        rows=written.rows,
        total_rows=written.total_rows,
        date_from=date.fromisoformat(written.first) + timedelta(days=written.shift_days),
        date_to=date.fromisoformat(written.last) + timedelta(days=written.shift_days),
        stores=written.stores,
        items=written.items,
        seconds=seconds,
        appended=append,
        shift_days=written.shift_days,
        warnings=list(layout.warnings),
        generated_days=written.generated_days,
        timings=run.timings | {"done": round(seconds, 3)},
        frequency=written.frequency,
    )


def _load_copy(*, cursor, path: Path, layout, progress, problem_limit: int) -> int:
    """COPY the file into the staging table; the rows copied. LoadError when PostgreSQL refuses
    the file's structure or it has no data rows."""
    loading.staging_create(cursor=cursor, layout=layout)
    rows, copy_error = loading.write_step(
        lambda: loading.staging_copy(cursor=cursor, path=path, layout=layout, progress=progress)
    )
    if copy_error is not None:
        problems, total = loading.file_structure_problems(path=path, layout=layout, limit=problem_limit)
        raise LoadError(path=path, problems=problems or [loading.database_error_problem(copy_error)], total=total)
    assert rows is not None  # write_step returns its step's result whenever it returns no error
    if rows == 0:
        problem = LoadProblem(line=None, column=None, value=None, message="has a header but no data rows")
        raise LoadError(path=path, problems=[problem])
    return rows


def _load_shift(*, last: str | None) -> int:
    # A malformed last date leaves the shift at 0: the write refuses the file and says where.
    with contextlib.suppress(ValueError, TypeError):
        return align_shift_days(last=date.fromisoformat(last or ""), today=timezone.localdate())
    return 0


def _load_keys_create(*, cursor, layout) -> tuple[int, int]:
    """Create the stores and items the file names by code (existing ones are kept: an admin may have
    renamed one); how many stores and items the file names."""
    loading.catalogue_keys_stage(cursor=cursor, layout=layout, kind=loading.STORES)
    loading.catalogue_keys_stage(cursor=cursor, layout=layout, kind=loading.ITEMS)
    stores = loading.catalogue_create_from_staging(cursor=cursor, layout=layout, kind=loading.STORES)
    items = loading.catalogue_create_from_staging(cursor=cursor, layout=layout, kind=loading.ITEMS)
    return stores, items


def _load_catalogue(*, cursor, path: Path, layout, attributes: Sequence[CatalogueSource]) -> bool:
    """The hierarchy of the file's own columns, then the attribute files, into the catalogue (before the
    write: a contradiction stops the load). Returns whether items with sales got a department."""
    regrouped = False
    for source in [*_staged_sources(cursor=cursor, path=path, layout=layout), *attributes]:
        regrouped = catalogue.catalogue_source_store(cursor=cursor, source=source) or regrouped
    return regrouped


def _staged_sources(*, cursor, path: Path, layout) -> list[CatalogueSource]:
    """The stores' regions and the items' departments and categories the staged file gives, read from the
    distinct keys (loading.catalogue_keys_stage), never row by row. LoadError naming the second line
    when a code sits under two parents."""
    sources = []
    for kind in (loading.STORES, loading.ITEMS):
        parents = [parent for parent in kind.parents if parent in layout.positions]
        if not parents:
            continue
        cursor.execute(f"SELECT code, {', '.join(parents)} FROM {kind.keys_table} ORDER BY code")
        rows: dict[str, reading.AttributeRow] = {}
        for code, *values in cursor.fetchall():
            given = {parent: value or None for parent, value in zip(parents, values, strict=True)}
            if not any(given.values()) or catalogue.code_problem(code or "") is not None or not code:
                continue  # no hierarchy, or a bad code the write refuses with its line
            if code in rows:
                _staged_conflict(cursor=cursor, path=path, layout=layout, kind=kind, code=code, parents=parents)
            rows[code] = reading.AttributeRow(
                code=code,
                region=given.get("region"),
                department=given.get("department"),
                category=given.get("category"),
            )
        columns = {role: role for role in (kind.role, *parents)}
        name: Literal["stores", "items"] = "stores" if kind is loading.STORES else "items"
        line_of = functools.partial(_staged_line, cursor=cursor, layout=layout, kind=kind)
        sources.append(
            CatalogueSource(
                path=path, kind=name, rows=list(rows.values()), names=False, columns=columns, line_of=line_of
            )
        )
    return sources


def _staged_line(code: str, role: str, *, cursor, layout, kind: loading.CatalogueKind) -> int | None:
    """The first staged line that names `code` (with its parent, when `role` is one)."""
    parent = role if role in kind.parents and role in layout.positions else kind.parents[0]
    if parent not in layout.positions:
        return None
    lines = loading.staging_parent_lines(cursor=cursor, layout=layout, kind=kind, code=code, parent=parent)
    return lines[0][0] if lines else None


def _staged_conflict(*, cursor, path: Path, layout, kind: loading.CatalogueKind, code: str, parents: list[str]):
    for parent in parents:
        lines = loading.staging_parent_lines(cursor=cursor, layout=layout, kind=kind, code=code, parent=parent)
        if len(lines) > 1:
            (first, was), (line, now) = lines[:2]
            message = f"is in {parent} {now!r} here and {was!r} on line {first}"
            raise LoadError(
                path=path, problems=[LoadProblem(line=line, column=parent, value=repr(code), message=message)]
            )


def _load_write(
    *, cursor, path: Path, layout, rows: int, shift_days: int, append: bool, problem_limit: int
) -> swap.Shadow | None:
    """Replace (or upsert into) sales_sale from the staging table; LoadError naming every bad row
    (up to `problem_limit`). A replace writes into a shadow of sales_sale (returned), swapped in by
    `_load_rollups`."""
    shadow = None if append else swap.shadow_create(cursor=cursor, table="sales_sale")
    if shadow is None:
        write = functools.partial(loading.sales_upsert_from_staging, cursor=cursor, layout=layout)
    else:
        write = functools.partial(loading.sales_replace_from_staging, cursor=cursor, layout=layout, shadow=shadow)
    _, write_error = loading.write_step(lambda: write(shift_days=shift_days), expect=rows)
    if write_error is None:
        return shadow
    problems, total = loading.staging_problems(cursor=cursor, layout=layout, limit=problem_limit)
    if not problems:
        problems, total = loading.staging_duplicates(cursor=cursor, layout=layout, limit=problem_limit)
    if not problems:
        problems, total = [loading.database_error_problem(write_error)], 1
    raise LoadError(path=path, problems=problems, total=total)


def _load_rollups(
    *, cursor, shadow: swap.Shadow | None, rows: int, on_retry: Callable[[], None] | None, regrouped: bool = False
) -> int:
    """Bring the rollups in step; returns the rows sales_sale holds now. A full load rebuilds them beside
    the old ones and swaps the new history in; an append adds its deltas, costing what the file holds, and
    when it gave items with sales a department (`regrouped`) the rollups by department are rebuilt."""
    if shadow is not None:
        loading.history_swap_in(cursor=cursor, sale=shadow, on_retry=on_retry)
        return rows
    rollups.rollups_add(cursor=cursor, deltas=loading.DELTA_TABLE)
    if regrouped:
        rollups.rollups_hierarchy_rebuild(cursor=cursor)
    cursor.execute("SELECT coalesce(sum(rows), 0) FROM sales_dailytotal")
    return cursor.fetchone()[0]


# ---------------------------------------------------------------- files in any layout


@dataclass(frozen=True)
class FilesLoadSummary:
    """What `sales_load_files` did: the sales load (None when only attribute files were given), the
    layout read, and the stores and items of the attribute files (read and checked)."""

    load: LoadSummary | None
    layout: reading.Layout | None
    stores: list[reading.AttributeRow] = field(default_factory=list)
    items: list[reading.AttributeRow] = field(default_factory=list)


def sales_load_files(
    *,
    sales: Path | None,
    calendar: Path | None = None,
    stores: Path | None = None,
    items: Path | None = None,
    columns: dict[str, str] | None = None,
    append: bool = False,
    align_to_today: bool = False,
    progress: Callable[[str, int], None] | None = None,
    followups: bool = True,
    on_wait: Callable[[], None] | None = None,
    problem_limit: int = loading.MAX_LISTED_PROBLEMS,
) -> FilesLoadSummary:
    """Load a sales file in any layout and compression `sales.reading` knows, with its calendar and
    attribute files. The attribute files are read first, so that a bad one stops the load before any
    write. A plain date,store,item,sales CSV goes straight to `sales_load_csv`; any other is turned
    into the normalized stream (in a temporary file beside the system's temp files) and loaded from
    there, so that the loader checks it as it checks any file. LoadError names the source file.
    `on_wait` is `sales_load_csv`'s (called while another load holds the lock). LoadError lists the first
    `problem_limit` problems of the file at fault (with the count of all), whichever reader found them."""
    limit = problem_limit
    store_rows = reading.attributes_read(path=stores, kind="stores", problem_limit=limit) if stores else []
    item_rows = reading.attributes_read(path=items, kind="items", problem_limit=limit) if items else []
    attributes = [CatalogueSource(path=stores, kind="stores", rows=store_rows)] if stores is not None else []
    attributes += [CatalogueSource(path=items, kind="items", rows=item_rows)] if items is not None else []
    if sales is None:
        catalogue_attributes_store(sources=attributes, on_wait=on_wait)
        return FilesLoadSummary(load=None, layout=None, stores=store_rows, items=item_rows)
    load_csv = functools.partial(
        sales_load_csv,
        append=append,
        align_to_today=align_to_today,
        progress=progress,
        followups=followups,
        on_wait=on_wait,
        problem_limit=problem_limit,
        attributes=attributes,
    )
    try:
        layout = reading.layout_detect(path=sales, columns=columns, calendar=calendar)
    except LoadError:
        if columns or not _is_plain(path=sales):
            raise
        # A plain CSV of no known layout: the classic loader's own message says what its header lacks.
        return FilesLoadSummary(load=load_csv(path=sales), layout=None, stores=store_rows, items=item_rows)
    classic = {role: column.lower() for role, column in layout.roles.items()} == {r: r for r in reading.ROLES[:4]}
    if _is_plain(path=sales) and layout.name == "long" and classic:
        load = load_csv(path=sales)
    else:
        stream = functools.partial(
            reading.sales_stream, layout=layout, calendar=calendar, progress=progress, problem_limit=problem_limit
        )
        load = _normalized_load(sales=sales, layout=layout, stream=stream, load_csv=load_csv)
    return FilesLoadSummary(load=load, layout=layout, stores=store_rows, items=item_rows)


def catalogue_attributes_store(
    *, sources: Sequence[CatalogueSource], on_wait: Callable[[], None] | None = None
) -> bool:
    """Store attribute files' rows (names, hierarchy, attributes) into the catalogue of the history
    already loaded, in one transaction under the load lock; stores and items it has not sold yet are
    created. LoadError (nothing written) naming the file, line and code when a row contradicts the
    catalogue. Rebuilds the rollups by department when items with sales got a department; returns whether
    they did."""
    with transaction.atomic(), connection.cursor() as cursor:
        load_lock_take(cursor=cursor, on_wait=on_wait)
        regrouped = False
        for source in sources:
            regrouped = catalogue.catalogue_source_store(cursor=cursor, source=source) or regrouped
        if regrouped:
            rollups.rollups_hierarchy_rebuild(cursor=cursor)
    return regrouped


def _is_plain(*, path: Path) -> bool:
    """Not compressed nor Parquet (a file that cannot be opened counts as plain: the loader says why)."""
    try:
        with path.open("rb") as handle:
            return not handle.read(6).startswith((b"\x1f\x8b", b"PK", b"7z\xbc\xaf", b"PAR1"))
    except OSError:
        return True


def _normalized_load(
    *,
    sales: Path,
    layout: reading.Layout,
    stream: Callable[..., Iterable[bytes]],
    load_csv: Callable[..., LoadSummary],
) -> LoadSummary:
    with tempfile.TemporaryDirectory(prefix="sales-normalized-") as folder:
        normalized = Path(folder) / "normalized.csv"
        try:
            with normalized.open("wb") as out:
                for chunk in stream(path=sales):
                    out.write(chunk)
        except OSError as error:  # a full disk, most likely: the normalized file is about the size of the long one
            problem = LoadProblem(line=None, column=None, value=None, message=f"cannot write {folder} ({error})")
            raise LoadError(path=sales, problems=[problem]) from None
        try:
            load = load_csv(path=normalized)
        except LoadError as error:
            if error.path != normalized:
                raise  # an attribute file's
            # Long layouts keep one row per line, so the lines are the source's; a wide file's are not.
            where = "" if layout.name != "m5" else " (lines of its normalized long form)"
            raise LoadError(path=Path(f"{sales}{where}"), problems=error.problems, total=error.total) from None
    return dataclasses.replace(load, path=sales, warnings=[*layout.warnings, *load.warnings])
