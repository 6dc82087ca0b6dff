"""A full load builds the new history beside the old one and swaps it in at the end (sales.swap): reads
keep getting the old history, without waiting, until the load commits; writers wait and land in the new
history; a failed or cancelled load leaves data and schema exactly as they were.

Real PostgreSQL, the load in a thread of its own (its own connection), paused just before the swap.
The reading connection sets lock_timeout: a read that would wait for the load fails instead of hanging."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction

from sales import rollups, selectors, swap
from sales.loading import LoadError
from sales.services import SaleRow, sales_load_csv, sales_record_batch
from sales.tests.factories import rollups_mismatches

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "date,store,item,sales"
TABLES = ("sales_sale", *rollups.TABLES)
# Far longer than any read of these few rows takes, far shorter than the paused load.
READ_LOCK_TIMEOUT = "3s"
# How long a test waits for its other threads before it calls the run a failure (not a measurement).
GUARD_SECONDS = 120


def history_file(tmp_path: Path, name: str, *, start: date, days: int, units: int, bad_last: bool = False) -> Path:
    """Stores 1-2, items 1-3, `days` days from `start`, every row `units` units."""
    lines = [HEADER]
    for d in range(days):
        lines += [f"{start + timedelta(days=d)},{s},{i},{units}" for s in (1, 2) for i in (1, 2, 3)]
    if bad_last:
        lines[-1] = lines[-1].rsplit(",", 1)[0] + ",many"
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def schema() -> dict:
    """What migrations know of the swapped tables, and each table's identity (oid): indexes, constraints,
    columns, storage parameters and the id sequence's name."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, c.oid, c.reloptions, pg_get_serial_sequence(c.relname, 'id'),
                   (SELECT array_agg(indexdef ORDER BY indexname) FROM pg_indexes WHERE tablename = c.relname),
                   (SELECT array_agg(conname || ' ' || pg_get_constraintdef(k.oid) ORDER BY conname)
                    FROM pg_constraint k WHERE conrelid = c.oid),
                   (SELECT array_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull || ' '
                                     || attidentity::text ORDER BY attnum)
                    FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped)
            FROM pg_class c WHERE c.relname = ANY(%s) AND c.relnamespace = 'public'::regnamespace
            """,
            [list(TABLES)],
        )
        tables = {name: rest for name, *rest in cursor.fetchall()}
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE %s", [f"%{swap.SHADOW_SUFFIX}%"])
        leftovers = cursor.fetchall()
    return {"tables": tables, "leftovers": leftovers}


def without_oids(described: dict) -> dict:
    return {name: [value for n, value in enumerate(rest) if n != 0] for name, rest in described["tables"].items()}


def history() -> dict:
    with connection.cursor() as cursor:
        described = {}
        for table in TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
            described[table] = cursor.fetchall()
    return described


@pytest.fixture
def reads_never_wait() -> Iterator[None]:
    """This thread's connection gives up on a lock after READ_LOCK_TIMEOUT (an error, not a wait)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = '{READ_LOCK_TIMEOUT}'")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")


class PausedLoad:
    """`sales_load_csv` in a thread, stopped just before the swap until `finish()`."""

    def __init__(self, monkeypatch, path: Path, *, after_swap: Callable[[], None] | None = None) -> None:
        self.reached, self.go = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.backend_pid: int | None = None
        original = swap.shadows_swap_in

        def paused(*, cursor, shadows, **options):
            cursor.execute("SELECT pg_backend_pid()")
            self.backend_pid = cursor.fetchone()[0]
            self.reached.set()
            assert self.go.wait(GUARD_SECONDS)
            original(cursor=cursor, shadows=shadows, **options)
            if after_swap is not None:
                after_swap()

        monkeypatch.setattr(swap, "shadows_swap_in", paused)
        self.thread = threading.Thread(target=self._run, args=(path,))
        self.thread.start()
        assert self.reached.wait(GUARD_SECONDS), "the load never reached its swap"

    def _run(self, path: Path) -> None:
        try:
            sales_load_csv(path=path, followups=False)
        except BaseException as error:  # handed to the test's thread
            self.error = error
        finally:
            self.reached.set()
            connection.close()

    def finish(self) -> BaseException | None:
        self.go.set()
        self.thread.join(GUARD_SECONDS)
        assert not self.thread.is_alive()
        return self.error


def test_reads_get_the_old_history_without_waiting_until_the_load_commits(
    tmp_path, monkeypatch, api_client, reads_never_wait
):
    sales_load_csv(path=history_file(tmp_path, "old.csv", start=date(2017, 1, 1), days=20, units=2), followups=False)
    before = api_client.get("/api/sales/metrics").json()
    page = api_client.get("/api/sales?page_size=50").json()
    assert before["total_sales"] == 20 * 6 * 2

    load = PausedLoad(monkeypatch, history_file(tmp_path, "new.csv", start=date(2017, 3, 1), days=30, units=5))
    try:
        # The new history is written, indexed and summed up; only the swap is left.
        assert api_client.get("/api/sales/metrics").json() == before
        assert api_client.get("/api/sales?page_size=50").json() == page
        assert selectors.sale_count(filters=selectors.SalesFilters()) == 20 * 6
        assert selectors.history_span().last == date(2017, 1, 20)
    finally:
        assert load.finish() is None

    after = api_client.get("/api/sales/metrics").json()
    assert (after["date_from"], after["date_to"]) == ("2017-03-01", "2017-03-30")
    assert after["total_sales"] == 30 * 6 * 5
    assert after["counts"]["rows"] == 30 * 6
    assert rollups_mismatches() == []


def test_a_sale_recorded_during_the_load_waits_and_lands_in_the_new_history(tmp_path, monkeypatch):
    sales_load_csv(path=history_file(tmp_path, "old.csv", start=date(2017, 1, 1), days=10, units=2), followups=False)
    load = PausedLoad(monkeypatch, history_file(tmp_path, "new.csv", start=date(2017, 3, 1), days=10, units=5))
    recorded: list[BaseException | int | Decimal] = []

    def record() -> None:
        try:
            recorded.append(sales_record_batch(rows=[SaleRow(date(2017, 3, 11), 1, 1, 7)]))
        except BaseException as error:
            recorded.append(error)
        finally:
            connection.close()

    writer = threading.Thread(target=record)
    writer.start()
    try:
        # It waits for the load (rather than writing into the history about to be dropped).
        with connection.cursor() as cursor:
            for _ in range(GUARD_SECONDS * 10):
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'sales_sale'::regclass")
                if cursor.fetchone()[0]:
                    break
                if not writer.is_alive():
                    pytest.fail(f"the sale was recorded into the history about to be replaced: {recorded}")
                time.sleep(0.1)
            else:
                pytest.fail("the writer never waited for the load")
        assert not recorded
    finally:
        assert load.finish() is None
        writer.join(GUARD_SECONDS)

    assert recorded == [7]
    assert selectors.sale_count(filters=selectors.SalesFilters()) == 10 * 6 + 1
    assert selectors.history_span().last == date(2017, 3, 11)
    assert rollups_mismatches() == []


def test_a_load_refused_at_its_last_row_leaves_data_and_schema_as_they_were(tmp_path):
    sales_load_csv(path=history_file(tmp_path, "old.csv", start=date(2017, 1, 1), days=10, units=2), followups=False)
    described, data = schema(), history()

    with pytest.raises(LoadError, match="line 121, column sales: 'many'"):
        sales_load_csv(path=history_file(tmp_path, "bad.csv", start=date(2017, 3, 1), days=20, units=5, bad_last=True))

    assert schema() == described  # the same tables (oids), indexes, constraints, sequences; no shadow left
    assert history() == data


def test_a_load_cancelled_after_the_swap_leaves_data_and_schema_as_they_were(tmp_path, monkeypatch):
    sales_load_csv(path=history_file(tmp_path, "old.csv", start=date(2017, 1, 1), days=10, units=2), followups=False)
    described, data = schema(), history()

    def cancel() -> None:
        raise KeyboardInterrupt

    load = PausedLoad(
        monkeypatch, history_file(tmp_path, "new.csv", start=date(2017, 3, 1), days=10, units=5), after_swap=cancel
    )
    assert isinstance(load.finish(), KeyboardInterrupt)

    assert schema() == described
    assert history() == data


def test_a_full_load_gives_the_new_tables_exactly_the_names_migrations_know(tmp_path):
    described = schema()

    sales_load_csv(path=history_file(tmp_path, "new.csv", start=date(2017, 3, 1), days=10, units=5), followups=False)

    after = schema()
    assert without_oids(after) == without_oids(described)
    assert after["leftovers"] == []
    assert all(after["tables"][t][0] != described["tables"][t][0] for t in TABLES)  # new tables indeed


def test_the_swap_gives_way_to_a_reader_that_holds_one_table_and_wants_another(tmp_path, monkeypatch, reads_never_wait):
    """A reader in a transaction has read a rollup and then reads sales_sale, while the swap holds
    sales_sale and waits for the rollup: a deadlock, unless the swap backs off and tries again."""
    sales_load_csv(path=history_file(tmp_path, "old.csv", start=date(2017, 1, 1), days=10, units=2), followups=False)
    load = PausedLoad(monkeypatch, history_file(tmp_path, "new.csv", start=date(2017, 3, 1), days=10, units=5))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT sum(sales) FROM sales_dailytotal")
            assert cursor.fetchone()[0] == 10 * 6 * 2
            load.go.set()
            for _ in range(GUARD_SECONDS * 10):
                cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [load.backend_pid])
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the swap never waited for the reader")
            cursor.execute("SELECT sum(sales) FROM sales_sale")
            assert cursor.fetchone()[0] == 10 * 6 * 2
    finally:
        assert load.finish() is None

    assert selectors.history_span().first == date(2017, 3, 1)
    assert rollups_mismatches() == []
