"""`manage.py load_train`: the loader's rules, its refusals, and that a refused
file leaves the database exactly as it was. Real PostgreSQL throughout; COPY,
savepoints and DDL need real transactions, hence transaction=True."""

from __future__ import annotations

import base64
import io
import json
import random
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from core.devstack import RedisServer
from core.testing import free_port, process_env
from sales.loading import database_error_problem
from sales.models import DailyItemTotal, DailyStoreTotal, DailyTotal, Item, Sale, Store
from sales.services import sales_load_csv

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "date,store,item,sales"
UNITS = "is not a number of units (such as 12, 7.5 or -2: at most 3 decimals, below 1,000,000,000)"


def rows_for(*, days: int = 10, stores: int = 2, items: int = 3, start: date = date(2017, 1, 1), seed: int = 1):
    rng = random.Random(seed)
    return [
        (start + timedelta(days=d), s, i, rng.randint(0, 90))
        for i in range(1, items + 1)
        for s in range(1, stores + 1)
        for d in range(days)
    ]


def csv_text(rows, *, header: str = HEADER, newline: str = "\n") -> str:
    lines = [header, *(f"{d.isoformat()},{s},{i},{v}" for d, s, i, v in rows)]
    return newline.join(lines) + newline


def write(tmp_path: Path, text: str | bytes, name: str = "train.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def load(path: Path, *args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("load_train", str(path), "--no-followups", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def load_error(path: Path, *args: str) -> str:
    with pytest.raises(CommandError) as excinfo:
        load(path, *args)
    return str(excinfo.value)


def sales_in_db() -> set[tuple]:
    return set(Sale.objects.values_list("date", "store_id", "item_id", "sales"))


def snapshot() -> dict:
    """Everything the loader may touch, including the indexes and constraints it
    drops and re-creates on the replace path."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'sales_sale' ORDER BY indexname")
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'sales_sale'::regclass ORDER BY 1"
        )
        constraints = cursor.fetchall()
        # A refused load must not even draw ids: the next row gets the id it would have had.
        cursor.execute("SELECT last_value, is_called FROM sales_sale_id_seq")
        sequence = cursor.fetchone()
    return {
        "sequence": sequence,
        "sales": sorted(Sale.objects.values_list("id", "date", "store_id", "item_id", "sales")),
        "daily": sorted(DailyTotal.objects.values_list("date", "sales")),
        "store_daily": sorted(DailyStoreTotal.objects.values_list("date", "store_id", "sales")),
        "item_daily": sorted(DailyItemTotal.objects.values_list("date", "item_id", "sales")),
        "stores": sorted(Store.objects.values_list("id", "name")),
        "items": sorted(Item.objects.values_list("id", "name")),
        "indexes": indexes,
        "constraints": constraints,
    }


def assert_rollups_match_sales() -> None:
    by_day = {r["date"]: r["total"] for r in Sale.objects.values("date").annotate(total=Sum("sales"))}
    by_store = {
        (r["date"], r["store_id"]): r["total"]
        for r in Sale.objects.values("date", "store_id").annotate(total=Sum("sales"))
    }
    by_item = {
        (r["date"], r["item_id"]): r["total"]
        for r in Sale.objects.values("date", "item_id").annotate(total=Sum("sales"))
    }
    assert dict(DailyTotal.objects.values_list("date", "sales")) == by_day
    assert {(d, s): v for d, s, v in DailyStoreTotal.objects.values_list("date", "store_id", "sales")} == by_store
    assert {(d, i): v for d, i, v in DailyItemTotal.objects.values_list("date", "item_id", "sales")} == by_item


@pytest.fixture
def loaded(tmp_path) -> dict:
    """A database holding a good load, and its snapshot to compare against."""
    rows = rows_for(days=20, stores=3, items=4, seed=7)
    load(write(tmp_path, csv_text(rows), "good.csv"))
    assert sales_in_db() == set(rows)
    return snapshot()


# ---------------------------------------------------------------- loading


def test_it_loads_every_row_creates_stores_and_items_and_builds_rollups(tmp_path):
    rows = rows_for(days=15, stores=3, items=4)
    as_migrated = snapshot()
    output = load(write(tmp_path, csv_text(rows)))

    # The indexes and constraints dropped for speed are back, exactly as the migrations made them.
    assert (snapshot()["indexes"], snapshot()["constraints"]) == (as_migrated["indexes"], as_migrated["constraints"])
    # Primary key and unique key (units may be negative: no check); no foreign keys in the database (see Sale.store).
    assert len(as_migrated["indexes"]) == 5 and len(as_migrated["constraints"]) == 2

    assert sales_in_db() == set(rows)
    assert list(Store.objects.values_list("id", "name")) == [(1, "Store 1"), (2, "Store 2"), (3, "Store 3")]
    assert list(Item.objects.values_list("name", flat=True)) == ["Item 1", "Item 2", "Item 3", "Item 4"]
    assert_rollups_match_sales()
    assert "loaded 180 rows" in output
    assert "2017-01-01 to 2017-01-15" in output
    assert "3 stores, 4 items" in output
    assert " s (" in output and "rows/s" in output


def test_the_summary_reports_rows_dates_stores_items_and_seconds(tmp_path):
    rows = rows_for(days=5, stores=2, items=3, start=date(2016, 2, 27))
    summary = sales_load_csv(path=write(tmp_path, csv_text(rows)), followups=False)

    assert (summary.rows, summary.total_rows, summary.stores, summary.items) == (30, 30, 2, 3)
    assert (summary.date_from, summary.date_to) == (date(2016, 2, 27), date(2016, 3, 2))
    assert summary.seconds > 0
    assert summary.shift_days == 0 and not summary.appended


def test_the_default_path_is_the_train_csv_setting(tmp_path, settings):
    rows = rows_for(days=3)
    settings.TRAIN_CSV_PATH = write(tmp_path, csv_text(rows), "default.csv")
    out = io.StringIO()
    # The default is read when the parser is built, i.e. per call.
    call_command("load_train", "--no-followups", stdout=out)
    assert sales_in_db() == set(rows)
    assert "default.csv" in out.getvalue()


def test_the_header_may_come_in_any_order_with_extra_columns_a_bom_and_crlf(tmp_path):
    rows = rows_for(days=4)
    lines = ["sales,Item,id,store,DATE,note", *(f'{v},{i},{n},{s},{d},"x, y"' for n, (d, s, i, v) in enumerate(rows))]
    path = write(tmp_path, b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")

    output = load(path)

    assert sales_in_db() == set(rows)
    assert "warning" in output and "ignoring extra column(s) id, note" in output


def test_a_file_without_a_final_newline_loads_its_last_row(tmp_path):
    rows = rows_for(days=3)
    load(write(tmp_path, csv_text(rows).rstrip("\n")))
    assert sales_in_db() == set(rows)


def test_loading_the_same_file_twice_gives_the_same_data(tmp_path):
    path = write(tmp_path, csv_text(rows_for(days=12, stores=2, items=2)))
    load(path)
    first = snapshot()
    load(path)
    assert snapshot() == first


def test_a_load_replaces_the_previous_history(tmp_path):
    load(write(tmp_path, csv_text(rows_for(days=10, stores=3, items=3, start=date(2015, 1, 1))), "old.csv"))
    new_rows = rows_for(days=4, stores=1, items=2, start=date(2016, 6, 1))
    load(write(tmp_path, csv_text(new_rows), "new.csv"))

    assert sales_in_db() == set(new_rows)
    assert_rollups_match_sales()
    # Stores and items are kept: other data (forecasts, renamed stores) may refer to them.
    assert Store.objects.count() == 3


def test_a_full_load_leaves_the_history_vacuumed_for_index_only_scans(tmp_path):
    # Enough rows for several heap pages; without the VACUUM none of them is marked all-visible.
    load(write(tmp_path, csv_text(rows_for(days=200, stores=3, items=5))))
    with connection.cursor() as cursor:
        # relallvisible: the pages VACUUM last marked all-visible in the visibility map.
        cursor.execute(
            "SELECT pg_relation_size('sales_sale') / current_setting('block_size')::int, relallvisible "
            "FROM pg_class WHERE oid = 'sales_sale'::regclass"
        )
        pages, all_visible = cursor.fetchone()
    assert pages > 5
    assert all_visible == pages


def test_append_overwrites_existing_days_keeps_the_rest_and_recomputes_rollups(tmp_path):
    old = rows_for(days=10, stores=2, items=2, start=date(2017, 1, 1), seed=1)
    load(write(tmp_path, csv_text(old), "old.csv"))
    Store.objects.filter(id=1).update(name="Flagship")
    changed = [(d, s, i, v + 1000) for d, s, i, v in old[:5]]
    fresh = [(date(2017, 2, 1), 3, 5, 42), (date(2017, 1, 1), 1, 9, 7)]
    output = load(write(tmp_path, csv_text(changed + fresh), "more.csv"), "--append")

    assert sales_in_db() == set(changed) | set(old[5:]) | set(fresh)
    assert_rollups_match_sales()
    assert Store.objects.get(id=1).name == "Flagship"
    assert Store.objects.get(id=3).name == "Store 3" and Item.objects.get(id=9).name == "Item 9"
    assert "loaded 7 rows" in output and f"{len(old) + 2} rows in total" in output


def test_append_of_the_same_file_twice_gives_the_same_data(tmp_path):
    load(write(tmp_path, csv_text(rows_for(days=5)), "base.csv"))
    path = write(tmp_path, csv_text(rows_for(days=3, start=date(2018, 1, 1), seed=3)), "more.csv")
    load(path, "--append")
    first = snapshot()
    load(path, "--append")
    assert snapshot()["sales"][0][1:] == first["sales"][0][1:]
    assert {row[1:] for row in snapshot()["sales"]} == {row[1:] for row in first["sales"]}
    assert snapshot()["daily"] == first["daily"]


# ---------------------------------------------------------------- align to today


def test_align_to_today_keeps_weekdays_and_ends_in_the_week_before_today(tmp_path):
    rows = rows_for(days=30, stores=1, items=2, start=date(2017, 11, 15))
    output = load(write(tmp_path, csv_text(rows)), "--align-to-today")

    today = timezone.localdate()
    # The days after it up to yesterday are generated (streaming/tests/test_gap_fill.py): the file's rows are the rest.
    loaded = sorted(Sale.objects.filter(generated=False).values_list("date", "store_id", "item_id", "sales"))
    last = max(d for d, *_ in loaded)
    assert today - timedelta(days=7) <= last <= today - timedelta(days=1)
    shift = last - max(d for d, *_ in rows)
    assert shift.days % 7 == 0
    assert sorted((d + shift, s, i, v) for d, s, i, v in rows) == loaded
    assert {d.weekday() for d, *_ in loaded} == {d.weekday() for d, *_ in rows}
    assert_rollups_match_sales()
    assert "shifted by +" in output and "weeks" in output


# ---------------------------------------------------------------- refusals


def bad_file_cases() -> list:
    good = csv_text(rows_for(days=3))
    lines = good.splitlines()
    return [
        pytest.param(None, ["no such file"], id="missing-file"),
        pytest.param("", ["empty"], id="empty-file"),
        pytest.param("\n\n  \n", ["empty"], id="blank-file"),
        pytest.param("date,store,item,sales\n", ["no data rows"], id="header-only"),
        pytest.param(
            "day,store,item,sales\n2017-01-01,1,1,3\n",
            ["line 1", "missing date", "'day,store,item,sales'"],
            id="wrong-header",
        ),
        pytest.param("date,store,item\n2017-01-01,1,1\n", ["line 1", "missing sales"], id="missing-column"),
        pytest.param(
            "date,store,item,sales,sales\n2017-01-01,1,1,3,4\n", ["line 1", "sales more than once"], id="doubled-column"
        ),
        pytest.param(
            f"{HEADER}\n2017/01/02,1,1,3\n", ["line 2", "column date", "'2017/01/02'", "ISO date"], id="slashed-date"
        ),
        pytest.param(
            f"{HEADER}\n2017-02-30,1,1,3\n", ["line 2", "column date", "'2017-02-30'", "ISO date"], id="no-such-day"
        ),
        pytest.param(f"{HEADER}\n17-01-02,1,1,3\n", ["line 2", "column date", "'17-01-02'"], id="short-year"),
        pytest.param(f"{HEADER}\n,1,1,3\n", ["line 2", "column date", "''"], id="empty-date"),
        # PostgreSQL takes these as dates; nothing could read them back afterwards.
        pytest.param(f"{HEADER}\ninfinity,1,1,3\n", ["line 2", "column date", "'infinity'"], id="infinity-date"),
        pytest.param(f"{HEADER}\n-infinity,1,1,3\n", ["line 2", "column date", "'-infinity'"], id="minus-infinity"),
        pytest.param(f"{HEADER}\n10000-01-01,1,1,3\n", ["line 2", "column date", "'10000-01-01'"], id="year-10000"),
        # Codes are text (`CA_1`, `1`); a row needs one, without a comma or a space at either end.
        pytest.param(
            f"{HEADER}\n2017-01-02,,1,3\n", ["line 2", "column store", "''", "is not a code"], id="store-empty"
        ),
        pytest.param(f"{HEADER}\n2017-01-02, 1,1,3\n", ["line 2", "column store", "' 1'"], id="store-padded"),
        pytest.param(f'{HEADER}\n2017-01-02,"1,2",1,3\n', ["column store", "'1,2'", "no comma"], id="store-comma"),
        pytest.param(f"{HEADER}\n2017-01-02,1,{'x' * 65},3\n", ["column item", "64 characters"], id="item-too-long"),
        pytest.param(f"{HEADER}\n2017-01-02,1,1,abc\n", ["line 2", "column sales", "'abc'", "number"], id="sales-text"),
        pytest.param(
            f"{HEADER}\n2017-01-02,1,1,1.2345\n", ["line 2", "column sales", "'1.2345'", "3 decimals"], id="sales-4-dp"
        ),
        pytest.param(
            f"{HEADER}\n2017-01-02,1,1,1000000000\n", ["line 2", "column sales", "'1000000000'"], id="sales-too-large"
        ),
        pytest.param(f"{HEADER}\n2017-01-02,1,1,1e3\n", ["line 2", "column sales", "'1e3'"], id="sales-exponent"),
        pytest.param(f"{HEADER}\n2017-01-02,1,1,NaN\n", ["line 2", "column sales", "'NaN'"], id="sales-nan"),
        pytest.param(f"{HEADER}\n2017-01-02,1,1,+3\n", ["line 2", "column sales", "'+3'"], id="sales-plus"),
        pytest.param(f"{HEADER}\n2017-01-02,1,1,\n", ["column sales", "''"], id="sales-empty"),
        pytest.param(f"{HEADER}\n2017-01-02,1,1, 3\n", ["column sales", "' 3'"], id="sales-padded"),
        pytest.param(
            "\n".join([*lines, lines[2]]) + "\n",
            ["line 20", "column date,store,item", "repeats line 3"],
            id="duplicate",
        ),
        pytest.param(
            "\n".join([*lines[:3], "2017-01-02,1,1", *lines[3:]]) + "\n",
            ["line 4", "3 column(s), the header has 4"],
            id="too-few-columns",
        ),
        pytest.param(
            "\n".join([*lines[:2], "2017-01-02,1,1,3,9", *lines[2:]]) + "\n",
            ["line 3", "5 column(s)"],
            id="too-many-columns",
        ),
        pytest.param(
            ("\n".join(lines[:3]) + "\n").encode() + b"2017-01-0\xff,1,1,3\n" + ("\n".join(lines[3:]) + "\n").encode(),
            ["line 4", "not UTF-8", "0xff"],
            id="invalid-utf8",
        ),
        pytest.param(
            ("\n".join(lines[:4]) + "\n").encode() + bytes(random.Random(5).randrange(256) for _ in range(300)) + b"\n",
            ["line 5"],
            id="binary-junk",
        ),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01", ["line 1", "header"], id="binary-file"),
        pytest.param(f"{HEADER}\n2017-01-02,1,1,3\x00\n".encode(), ["line 2", "NUL"], id="nul-byte"),
        pytest.param(
            f'{HEADER}\n2017-01-02,1,1,3\n2017-01-03,1,1,"4\n', ["line 3", "unbalanced double quote"], id="open-quote"
        ),
        pytest.param(f"{HEADER}\r2017-01-02,1,1,3\r", ["line 1", "bare carriage return"], id="old-mac-line-endings"),
        pytest.param(
            ",".join(f"c{i}" for i in range(2000)) + "\n1\n", ["line 1", "2,000 columns"], id="too-many-columns-header"
        ),
        pytest.param(
            f'{HEADER}\n2017-01-02,1,1,3\n2017-01-03,1,1,"{"x" * 200_000}"\n',
            ["line 3"],
            id="huge-field",
        ),
        pytest.param(
            f"{HEADER}\r\n2017-01-02,1,1,3\r\n2017-01-03,1,1,4\n2017-01-04,1,1,4\r\n",
            ["line 3", "ends in LF but line 2 in CRLF"],
            id="mixed-line-endings",
        ),
    ]


@pytest.mark.parametrize(("content", "expected"), bad_file_cases())
def test_a_bad_file_is_refused_with_where_and_what_and_changes_nothing(tmp_path, loaded, content, expected):
    path = tmp_path / "bad.csv" if content is None else write(tmp_path, content, "bad.csv")

    message = load_error(path)

    assert str(path) in message
    for fragment in expected:
        assert fragment in message
    assert "Traceback" not in message
    assert snapshot() == loaded


@pytest.mark.parametrize(
    "content",
    [
        f"{HEADER}\n2017-01-02,1,1,-1.0001\n",
        f"{HEADER}\n2017-01-02,1,1,x\n",
        f"{HEADER}\n2017-02-29,1,1,1\n",
        f"{HEADER}\n2017-01-02,1,1,1\n2017-01-02,1,1,2\n",
        f"{HEADER}\n2017-01-02,1,1\n",
    ],
)
def test_a_bad_file_is_refused_by_append_too_and_changes_nothing(tmp_path, loaded, content):
    message = load_error(write(tmp_path, content, "bad.csv"), "--append")
    assert "line" in message
    assert snapshot() == loaded


def test_many_problems_list_the_first_ten_and_count_them_all(tmp_path, loaded):
    rows = [f"2017-01-{d:02d},1,{i},-{i}.0001" for d in range(1, 4) for i in range(1, 6)]  # 15 bad sales values
    rows[4] = "2017-13-01,,1,-1.0001"  # three bad values on line 6
    message = load_error(write(tmp_path, "\n".join([HEADER, *rows]) + "\n", "bad.csv"))

    assert "17 problems (first 10 listed)" in message
    listed = [line for line in message.splitlines() if line.startswith("  line ")]
    assert len(listed) == 10
    assert listed[:5] == [
        f"  line 2, column sales: '-1.0001' {UNITS}",
        f"  line 3, column sales: '-2.0001' {UNITS}",
        f"  line 4, column sales: '-3.0001' {UNITS}",
        f"  line 5, column sales: '-4.0001' {UNITS}",
        "  line 6, column date: '2017-13-01' is not an ISO date (YYYY-MM-DD)",
    ]
    assert listed[5].startswith("  line 6, column store: '' is not a code")
    assert snapshot() == loaded


def test_every_line_with_the_wrong_column_count_is_counted(tmp_path, loaded):
    lines = [HEADER, *(f"2017-01-{d:02d},1,1" + (",5" if d % 2 else "") for d in range(1, 29))]
    message = load_error(write(tmp_path, "\n".join(lines) + "\n", "bad.csv"))
    assert "14 problems (first 10 listed)" in message
    assert "line 3: '2017-01-02,1,1' has 3 column(s), the header has 4" in message
    assert snapshot() == loaded


@pytest.mark.slow
def test_a_bad_value_on_line_700001_is_found_and_changes_nothing(tmp_path, loaded):
    start = date(2000, 1, 1)
    days = [(start + timedelta(days=d)).isoformat() for d in range(7000)]
    body = [f"{day},{s},1,{s}" for s in range(1, 101) for day in days]  # 700,000 rows: lines 2..700,001
    body[-1] = f"{days[-1]},100,1,many"
    message = load_error(write(tmp_path, "\n".join([HEADER, *body]) + "\n", "big.csv"))

    assert message == f"{tmp_path / 'big.csv'}: line 700001, column sales: 'many' {UNITS}"
    assert snapshot() == loaded


def test_a_directory_is_refused(tmp_path, loaded):
    assert "is a directory" in load_error(tmp_path)
    assert snapshot() == loaded


# ---------------------------------------------------------------- terminal and follow-ups


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_shown_on_a_terminal_only(tmp_path):
    path = write(tmp_path, csv_text(rows_for(days=30)))
    quiet = io.StringIO()
    call_command("load_train", str(path), "--no-followups", stdout=quiet)
    # The summary, then (a file that is not the demo's sample) how to turn the live generator off.
    lines = quiet.getvalue().splitlines()
    assert "\r" not in quiet.getvalue() and lines[0].startswith("loaded 180 rows")
    assert len(lines) == 2 and "LIVE_GENERATOR=false" in lines[1]

    terminal = Terminal()
    call_command("load_train", str(path), "--no-followups", stdout=terminal)
    assert "\r\x1b[Kreading: 180 rows (" in terminal.getvalue() and "rows/s)" in terminal.getvalue()
    assert terminal.getvalue().rstrip().splitlines()[-2].split("\x1b[K")[-1].startswith("loaded 180 rows")


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own, so the follow-up messages it receives
    are not picked up by any other test's Celery worker."""
    server = RedisServer(directory=tmp_path / "redis")
    server.start()
    client = redis.Redis.from_url(server.url)
    try:
        yield client, server.url
    finally:
        client.close()
        server.stop()


def run_load_train(path: Path, *, redis_url: str) -> subprocess.CompletedProcess:
    """The real command in its own process (its own Celery app and broker URL)."""
    return subprocess.run(
        [sys.executable, "manage.py", "load_train", str(path)],
        cwd=settings.BASE_DIR,
        env=process_env({"REDIS_URL": redis_url}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_committed_load_has_streaming_and_forecasting_enqueue_their_followups(tmp_path, private_redis):
    client, url = private_redis
    result = run_load_train(write(tmp_path, csv_text(rows_for(days=2))), redis_url=url)

    assert result.returncode == 0, result.stderr
    # Each on the queue its workers consume: the refit must not hold up the live tick.
    queued = {
        queue: [json.loads(message)["headers"]["task"] for message in client.lrange(queue, 0, -1)]
        for queue in ("live", "forecast")
    }
    assert queued == {"live": ["streaming.tasks.profile_refresh"], "forecast": ["forecasting.tasks.forecast_refit_all"]}
    # The refit replaces one still running on the old history (the kwargs travel in the body).
    (refit,) = client.lrange("forecast", 0, -1)
    _args, kwargs, _embed = json.loads(base64.b64decode(json.loads(refit)["body"]))
    assert kwargs == {"supersede_running": True}
    assert Sale.objects.count() == 12


def test_a_refused_load_enqueues_nothing(tmp_path, private_redis):
    client, url = private_redis
    result = run_load_train(write(tmp_path, f"{HEADER}\n2017-01-01,1,1,x\n"), redis_url=url)

    assert result.returncode != 0
    assert f"line 2, column sales: 'x' {UNITS}" in result.stderr
    assert "Traceback" not in result.stderr
    assert client.dbsize() == 0  # no queue, no message: the broker was never asked


def test_an_unreachable_broker_costs_a_warning_not_the_load(tmp_path):
    result = run_load_train(write(tmp_path, csv_text(rows_for(days=2))), redis_url=f"redis://127.0.0.1:{free_port()}/0")

    assert result.returncode == 0, result.stderr
    assert "loaded 12 rows" in result.stdout
    # One warning for each follow-up not enqueued, naming it.
    warnings = [line for line in result.stderr.splitlines() if "could not enqueue follow-up task" in line]
    assert len(warnings) == 2
    assert "task=streaming.tasks.profile_refresh" in warnings[0]
    assert "task=forecasting.tasks.forecast_refit_all" in warnings[1]
    assert Sale.objects.count() == 12


def test_an_unexplained_database_error_is_reported_in_postgresqls_words():
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")
    problem = database_error_problem(excinfo.value)
    assert str(problem) == "could not be loaded: division by zero"
