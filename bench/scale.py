"""Benchmark at scale: the same measures at 913,000 rows, 9.1 million and M5 size, side by side.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/scale.py [--items 50,500] [--requests 15] [--keep] [--existing]

For each size (10 stores x N items x 5 years; 50 items = 913,000 rows, 500 = 9.1 million,
3049 = M5 size, 55.7 million) it generates the file into data/ (git-ignored; deleted afterwards
unless --keep), then prints:

  load       `psql \\copy` of the file into sales_sale (the reference) against `manage.py load_train`
             (the whole load: copy, checks, indexes, rollups), with the loader's peak memory
  append     `load_train --append` of one new day for every series
  requests   p50 / p95 of every request the dashboard makes on load, plus the ones the issue measured,
             served in process (Django test client, logged in); reference: the same figure summed
             straight from sales_sale, and the goal (p50 at most 150 ms)
  hierarchy  the reads by region, category and department (filters, group_by, breakdowns, drill-down),
             each p50 next to the same request by store; the history is first given a hierarchy like a
             large retailer's: 3 regions of stores, 3 categories holding 7 departments of items
             (--no-hierarchy: skip)
  page       the dashboard's cold render in headless Chromium (navigation -> every panel drawn)
  tick       one live tick generating the interval's sales for every store-item, against the interval
  sizes      table and index sizes of the sales tables, and the disk they take

It replaces the sales history of the database it is pointed at. Needs `psql` on PATH. With --existing it
loads nothing and measures the history the database already holds (appending three days to it): a
quick re-measure after a schema or query change, without the minutes an M5-size load takes. With
--requests-only it measures the requests (and the hierarchy's) only: no append, page or tick.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchlib import BASE_DIR, django_setup

# One user asks for every request many times over: the per-user rate would answer 429s.
os.environ.setdefault("API_USER_RATE", "1000000/minute")
django_setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

GOAL_P50_MS = 150
GOAL_RENDER_S = 2.0
GOAL_TICK_SHARE = 0.10
DATA = BASE_DIR / "data"
READY_MS = "() => performance.getEntriesByName('dashboard-ready')[0]?.startTime ?? null"


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or settings.DATABASE_URL
    return url.replace("postgresql+psycopg://", "postgresql://").replace("pgsql://", "postgresql://")


def sql(statement: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


# Runs one command and writes the peak resident memory of that command alone to the file named first:
# RUSAGE_CHILDREN of this bench process would be the largest of *all* its children so far (the generator...).
PEAK_WRAPPER = (
    "import pathlib, resource, subprocess, sys; code = subprocess.run(sys.argv[2:]).returncode; "
    "pathlib.Path(sys.argv[1]).write_text(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(code)"
)


def manage(*arguments: str) -> tuple[float, float]:
    """Run manage.py; (seconds, peak resident MB of that process alone)."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", PEAK_WRAPPER, peak.name, sys.executable, str(BASE_DIR / "manage.py"), *arguments],
            cwd=BASE_DIR,
            check=True,
        )
        seconds = time.perf_counter() - started
        return seconds, int(Path(peak.name).read_text()) / 1024


def measure_load(path: Path, items: int) -> dict:
    from sales.models import Item, Store

    # psql's copy checks the foreign keys: the stores and items exist first, as load_train makes them.
    Store.objects.bulk_create(
        [Store(id=n, code=str(n), name=f"Store {n}") for n in range(1, 11)], ignore_conflicts=True
    )
    Item.objects.bulk_create(
        [Item(id=n, code=str(n), name=f"Item {n}") for n in range(1, items + 1)], ignore_conflicts=True
    )
    sql("TRUNCATE sales_sale")
    sql("CHECKPOINT")
    command = f"\\copy sales_sale(date, store_id, item_id, sales) FROM '{path}' WITH (FORMAT csv, HEADER)"
    started = time.perf_counter()
    subprocess.run(["psql", database_url(), "-v", "ON_ERROR_STOP=1", "-q", "-c", command], check=True)
    copy = time.perf_counter() - started
    sql("CHECKPOINT")
    ours, peak = manage("load_train", str(path), "--no-followups", "--align-to-today")
    return {"copy": copy, "load": ours, "peak_mb": peak}


def measure_append(tmp: Path, days: int = 3) -> float:
    """One new day for every store-item, appended `days` times (each a day later); the median."""
    from sales.services import sales_load_csv

    keys = sql("SELECT s.id, i.id FROM sales_store s CROSS JOIN sales_item i ORDER BY 1, 2")
    path = tmp / "append.csv"
    times = []
    for _ in range(days):
        (last,) = sql("SELECT max(date) FROM sales_dailytotal")[0]
        day = last + timedelta(days=1)
        with path.open("w") as out:
            out.write("date,store,item,sales\n")
            out.writelines(f"{day},{s},{i},{(s * 7 + i) % 50}\n" for s, i in keys)
        started = time.perf_counter()
        sales_load_csv(path=path, append=True, followups=False)
        times.append(time.perf_counter() - started)
    path.unlink()
    print(f"  append: {len(keys):,} series, one day at a time: " + ", ".join(f"{t:.3f}" for t in times) + " s")
    return statistics.median(times)


def dashboard_requests(first: str) -> dict[str, tuple[str, str]]:
    """What the page asks for on load (default view: the last year), and the requests the issue measured.
    name -> (url, base-table SQL answering the same question, for the reference)."""
    year = f"date >= '{first}'"
    return {
        "metrics (1 y)": (
            f"/api/sales/metrics?date_from={first}",
            f"SELECT count(*), sum(sales) FROM sales_sale WHERE {year}",
        ),
        "metrics (all)": ("/api/sales/metrics", "SELECT count(*), sum(sales) FROM sales_sale"),
        "metrics store=2&item=5,6": (
            "/api/sales/metrics?store=2&item=5,6",
            "SELECT count(*), sum(sales) FROM sales_sale WHERE store_id = 2 AND item_id IN (5, 6)",
        ),
        "aggregated day (1 y)": (
            f"/api/sales/aggregated?date_from={first}",
            f"SELECT date, sum(sales) FROM sales_sale WHERE {year} GROUP BY date",
        ),
        "breakdown store (1 y)": (
            f"/api/sales/breakdown?by=store&top=15&date_from={first}",
            f"SELECT store_id, sum(sales) FROM sales_sale WHERE {year} GROUP BY 1 ORDER BY 2 DESC LIMIT 15",
        ),
        "breakdown item (1 y)": (
            f"/api/sales/breakdown?by=item&top=15&date_from={first}",
            f"SELECT item_id, sum(sales) FROM sales_sale WHERE {year} GROUP BY 1 ORDER BY 2 DESC LIMIT 15",
        ),
        "predictions": ("/api/sales/predictions?days=30", ""),
        "sales list page 1": ("/api/sales?page_size=100", "SELECT count(*) FROM sales_sale"),
        "aggregated month by item": (
            "/api/sales/aggregated?granularity=month&group_by=item",
            "SELECT date_trunc('month', date), item_id, sum(sales) FROM sales_sale GROUP BY 1, 2",
        ),
        "page html": ("/", ""),
    }


def deep_page_requests() -> dict[str, tuple[str, str]]:
    """The list read 90 % of the way through the history (or as deep as page numbers go): by page number
    (OFFSET) and by `after` (keyset)."""
    from types import SimpleNamespace

    from sales.pagination import MAX_PAGE_OFFSET, keyset_token

    (rows,) = sql("SELECT coalesce(sum(rows), 0) FROM sales_dailytotal")[0]
    # Page numbers go MAX_PAGE_OFFSET rows deep at most (then a 400 points at `after`).
    page = max(1, min(int(rows * 0.9), MAX_PAGE_OFFSET) // 100)
    offset = (page - 1) * 100
    columns = "id, date, store_id, item_id, sales, generated"
    (last,) = sql(
        f"SELECT date, store_id, item_id FROM sales_sale ORDER BY date, store_id, item_id OFFSET {offset - 1} LIMIT 1"
    )
    token = keyset_token(
        SimpleNamespace(date=last[0], store_id=last[1], item_id=last[2]), ["date", "store_id", "item_id"]
    )
    return {
        f"sales list page {page:,} (offset)": (
            f"/api/sales?page_size=100&page={page}",
            f"SELECT {columns} FROM sales_sale ORDER BY date, store_id, item_id OFFSET {offset} LIMIT 100",
        ),
        "same page by after (keyset)": (
            f"/api/sales?page_size=100&after={token}",
            f"SELECT {columns} FROM sales_sale WHERE (date, store_id, item_id) > ('{last[0]}', {last[1]}, {last[2]})"
            " ORDER BY date, store_id, item_id LIMIT 100",
        ),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def request_times(client: Client, url: str, repeat: int) -> tuple[list[float], int]:
    """Milliseconds of `repeat` runs of a GET (after one to warm plans and caches), and the answer's size."""
    client.get(url)
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        size = len(response.content)
        assert response.status_code == 200, (url, response.status_code, response.content[:200])
    return times, size


def measure_requests(client: Client, repeat: int) -> dict[str, dict]:
    (last,) = sql("SELECT max(date) FROM sales_dailytotal")[0]
    first = (last - timedelta(days=364)).isoformat()
    results = {}
    for name, (url, reference) in (dashboard_requests(first) | deep_page_requests()).items():
        times, size = request_times(client, url, repeat)
        ref = None
        if reference:
            ref_times = []
            for _ in range(max(3, repeat // 5)):
                started = time.perf_counter()
                sql(reference)
                ref_times.append((time.perf_counter() - started) * 1000)
            ref = statistics.median(ref_times)
        results[name] = {"p50": statistics.median(times), "p95": percentile(times, 0.95), "bytes": size, "ref": ref}
    return results


# A large retailer's shape: stores in 3 regions (4, 3, 3 of 10), items in 7 departments of 3 categories.
REGIONS = {"CA": 4, "TX": 3, "WI": 3}
DEPARTMENTS = {"FOODS": ("FOODS_1", "FOODS_2", "FOODS_3"), "HOBBIES": ("HOBBIES_1", "HOBBIES_2")}
DEPARTMENTS["HOUSEHOLD"] = ("HOUSEHOLD_1", "HOUSEHOLD_2")


def hierarchy_assign() -> None:
    """Give the loaded stores regions and the items departments (round robin), then rebuild the rollups
    by department: what the hierarchy's loader does after reading an attribute file."""
    from sales.models import Category, Department, Item, Region, Store
    from sales.rollups import rollups_hierarchy_rebuild

    store_ids = list(Store.objects.order_by("id").values_list("id", flat=True))
    start = 0
    for code, count in REGIONS.items():
        region, _ = Region.objects.get_or_create(code=code)
        Store.objects.filter(id__in=store_ids[start : start + count]).update(region=region)
        start += count
    departments = []
    for category_code, codes in DEPARTMENTS.items():
        category, _ = Category.objects.get_or_create(code=category_code)
        departments += [
            Department.objects.get_or_create(code=code, defaults={"category": category})[0] for code in codes
        ]
    item_ids = list(Item.objects.order_by("id").values_list("id", flat=True))
    for n, department in enumerate(departments):
        Item.objects.filter(id__in=item_ids[n :: len(departments)]).update(department=department)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        rollups_hierarchy_rebuild(cursor=cursor)
        cursor.execute("ANALYZE")
    print(
        f"  hierarchy: {len(REGIONS)} regions, {len(departments)} departments; rollups by department rebuilt in "
        f"{time.perf_counter() - started:.1f} s"
    )


def hierarchy_requests(first: str) -> dict[str, tuple[str, str]]:
    """name -> (the request by a level, the same request by store), as the dashboard's drill-down makes them."""
    from sales.models import Item, Store

    year = f"date_from={first}"
    stores = ",".join(Store.objects.filter(region__code="CA").values_list("code", flat=True))
    store = Store.objects.filter(region__code="CA").order_by("id").values_list("code", flat=True).first()
    item = Item.objects.filter(department__code="FOODS_1").order_by("id").values_list("code", flat=True).first()
    return {
        "metrics region=CA (1 y)": (
            f"/api/sales/metrics?region=CA&{year}",
            f"/api/sales/metrics?store={stores}&{year}",
        ),
        "metrics category=FOODS (1 y)": (
            f"/api/sales/metrics?category=FOODS&{year}",
            f"/api/sales/metrics?store={store}&{year}",
        ),
        "metrics FOODS in CA (1 y)": (
            f"/api/sales/metrics?category=FOODS&region=CA&{year}",
            f"/api/sales/metrics?store={store}&item={item}&{year}",
        ),
        "aggregated day FOODS in CA (1 y)": (
            f"/api/sales/aggregated?category=FOODS&region=CA&{year}",
            f"/api/sales/aggregated?store={store}&{year}",
        ),
        "aggregated day by region (1 y)": (
            f"/api/sales/aggregated?group_by=region&{year}",
            f"/api/sales/aggregated?group_by=store&{year}",
        ),
        "aggregated day by department (1 y)": (
            f"/api/sales/aggregated?group_by=department&{year}",
            f"/api/sales/aggregated?group_by=store&{year}",
        ),
        "aggregated month by category": (
            "/api/sales/aggregated?granularity=month&group_by=category",
            "/api/sales/aggregated?granularity=month&group_by=store",
        ),
        "aggregated month by department, CA": (
            "/api/sales/aggregated?granularity=month&group_by=department&region=CA",
            f"/api/sales/aggregated?granularity=month&group_by=store&store={stores}",
        ),
        "breakdown region (1 y)": (f"/api/sales/breakdown?by=region&{year}", f"/api/sales/breakdown?by=store&{year}"),
        "breakdown category (1 y)": (
            f"/api/sales/breakdown?by=category&{year}",
            f"/api/sales/breakdown?by=store&{year}",
        ),
        "breakdown department, FOODS (1 y)": (
            f"/api/sales/breakdown?by=department&category=FOODS&{year}",
            f"/api/sales/breakdown?by=store&{year}",
        ),
        "breakdown department, FOODS in CA (1 y)": (
            f"/api/sales/breakdown?by=department&category=FOODS&region=CA&{year}",
            f"/api/sales/breakdown?by=store&item={item}&{year}",
        ),
        "breakdown store, region=CA (1 y)": (
            f"/api/sales/breakdown?by=store&region=CA&{year}",
            f"/api/sales/breakdown?by=store&store={stores}&{year}",
        ),
        "breakdown item, department=FOODS_1 (1 y)": (
            f"/api/sales/breakdown?by=item&top=15&department=FOODS_1&{year}",
            f"/api/sales/breakdown?by=item&top=15&store={store}&{year}",
        ),
        "sales list department=FOODS_1": (
            "/api/sales?page_size=100&department=FOODS_1",
            f"/api/sales?page_size=100&store={store}",
        ),
    }


def measure_hierarchy(client: Client, repeat: int) -> dict[str, dict]:
    (last,) = sql("SELECT max(date) FROM sales_dailytotal")[0]
    first = (last - timedelta(days=364)).isoformat()
    results = {}
    for name, (url, by_store) in hierarchy_requests(first).items():
        times, size = request_times(client, url, repeat)
        store_times, _ = request_times(client, by_store, repeat)
        results[name] = {
            "p50": statistics.median(times),
            "p95": percentile(times, 0.95),
            "bytes": size,
            "store_p50": statistics.median(store_times),
        }
        r = results[name]
        print(
            f"  {name:42} p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  {size:>9,} B  by store p50 {r['store_p50']:7.1f} ms"
        )
    return results


def measure_page(session_cookie: str, loads: int) -> float:
    from playwright.sync_api import sync_playwright

    from core.testing import DaphneProcess

    server = DaphneProcess()
    server.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
            )
            cold = []
            for i in range(loads + 1):
                context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
                context.add_cookies(
                    [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie, "url": server.url}]
                )
                page = context.new_page()
                page.goto(server.url)
                page.wait_for_selector("html[data-ready=true]", timeout=120_000)
                if i:  # the first load warms the server
                    cold.append(page.evaluate(READY_MS) / 1000)
                context.close()
            browser.close()
    finally:
        server.stop()
    return statistics.median(cold)


def measure_tick() -> tuple[float, int, int]:
    """Seconds of one tick (every store-item's sales for one interval, written with its rollups)."""
    from streaming import services

    started = time.perf_counter()
    services.profile_fit()
    print(f"  profile fit: {time.perf_counter() - started:.1f} s")
    (series,) = sql("SELECT (SELECT count(*) FROM sales_store) * (SELECT count(*) FROM sales_item)")[0]
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    with override_settings(STREAMING_INTERVAL_SECONDS=60, STREAMING_CATCHUP_INTERVALS=1):
        services.tick_generate(now=now - timedelta(minutes=2), seed=1)  # the first tick: warms caches
        started = time.perf_counter()
        ids = services.tick_generate(now=now, seed=2)
        seconds = time.perf_counter() - started
    from streaming.models import SalesEvent

    rows = sum(len(event.rows) for event in SalesEvent.objects.filter(id__in=ids))
    return seconds, rows, series


def measure_sizes() -> list[tuple[str, int, int]]:
    return sql(
        """
        SELECT c.relname, pg_relation_size(c.oid), pg_indexes_size(c.oid) FROM pg_class c
        WHERE c.relkind = 'r' AND c.relname LIKE 'sales\\_%' ORDER BY pg_total_relation_size(c.oid) DESC
        """
    )


def login_client() -> tuple[Client, str]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username="bench-scale")
    group = Group.objects.filter(name="viewer").first()
    if group:
        user.groups.add(group)
    client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0])  # not 'testserver': ALLOWED_HOSTS holds
    client.force_login(user)
    return client, client.cookies[settings.SESSION_COOKIE_NAME].value


def run_size(items: int | None, args) -> dict:
    """Every measure at one size; `items` None: on the history the database holds (no generation, no load)."""
    if items is None:
        (rows,) = sql("SELECT coalesce(sum(rows), 0) FROM sales_dailytotal")[0]
        print(f"== the database's own history: {rows:,} rows")
        result = {"items": None, "rows": rows, "copy": None, "load": None, "peak_mb": None}
    else:
        rows = 10 * items * 1826
        path = DATA / f"bench-scale-{items}.csv"
        if not path.exists():
            started = time.perf_counter()
            manage("generate_sample", str(path), "--stores", "10", "--items", str(items), "--force")
            print(f"  generated {path.name} in {time.perf_counter() - started:.0f} s")
        print(f"== 10 stores x {items} items: {rows:,} rows, file {path.stat().st_size / 1e6:,.0f} MB")
        result = {"items": items, "rows": rows}
        result |= measure_load(path, items)
        print(
            f"  load: psql \\copy {result['copy']:.1f} s, load_train {result['load']:.1f} s, "
            f"peak {result['peak_mb']:.0f} MB"
        )
    if args.hierarchy:
        hierarchy_assign()
    if not args.requests_only:
        result["append"] = measure_append(DATA)
    client, cookie = login_client()
    result["requests"] = measure_requests(client, args.requests)
    for name, r in result["requests"].items():
        ref = f"{r['ref']:9.1f}" if r["ref"] is not None else "        -"
        print(f"  {name:28} p50 {r['p50']:8.1f} ms  p95 {r['p95']:8.1f} ms  {r['bytes']:>9,} B  base table {ref} ms")
    result["hierarchy"] = measure_hierarchy(client, args.requests) if args.hierarchy else {}
    result["sizes"] = measure_sizes()
    (result["db_bytes"],) = sql("SELECT pg_database_size(current_database())")[0]
    if args.requests_only:
        if items is not None and not args.keep:
            path.unlink()
        return result
    result["page"] = measure_page(cookie, args.loads)
    print(f"  page: cold render {result['page']:.2f} s")
    result["tick"], result["tick_rows"], result["series"] = measure_tick()
    print(f"  tick: {result['tick']:.2f} s for {result['tick_rows']:,} rows ({result['series']:,} series)")
    if items is not None and not args.keep:
        path.unlink()
    return result


def table(results: list[dict]) -> None:
    sizes = [f"{r['rows'] / 1e6:.2f} M rows" for r in results]
    print(f"\n{'measure':<42}" + "".join(f"{s:>24}" for s in sizes) + "   reference / goal")

    def line(label: str, cells: list[str], note: str = "") -> None:
        print(f"{label:<42}" + "".join(f"{c:>24}" for c in cells) + f"   {note}")

    loaded = [r for r in results if r["load"] is not None]
    if loaded:
        line("psql \\copy (reference)", [f"{r['copy']:.1f} s" if r["copy"] else "-" for r in results])
        line(
            "load_train",
            [f"{r['load']:.1f} s ({r['load'] / r['copy']:.2f}x)" if r["load"] else "-" for r in results],
            "goal at most 1.0x \\copy",
        )
        line("load_train peak memory", [f"{r['peak_mb']:.0f} MB" if r["peak_mb"] else "-" for r in results])
    if "append" in results[0]:
        line("append one day, every series", [f"{r['append']:.2f} s" for r in results], "goal under 1 s")
    for name in results[0]["requests"]:
        cells = []
        for r in results:
            q = r["requests"][name]
            ratio = f" {q['p50'] / q['ref']:.2f}x" if q["ref"] else ""
            cells.append(f"{q['p50']:.0f}/{q['p95']:.0f} ms{ratio}")
        line(f"{name} p50/p95", cells, f"goal p50 <= {GOAL_P50_MS} ms; x = ratio to the base-table query")
    for name in results[0]["requests"]:
        line(
            f"  base table: {name}",
            [f"{r['requests'][name]['ref']:.0f} ms" if r["requests"][name]["ref"] else "-" for r in results],
        )
    for name in results[0]["hierarchy"]:
        cells = [
            f"{r['hierarchy'][name]['p50']:.0f} ms (store {r['hierarchy'][name]['store_p50']:.0f})" for r in results
        ]
        line(f"{name} p50", cells, f"goal p50 <= {GOAL_P50_MS} ms; (the same request by store)")
    if "page" in results[0]:
        line("page cold render", [f"{r['page']:.2f} s" for r in results], f"goal under {GOAL_RENDER_S} s")
        line(
            "tick (60 s interval)",
            [f"{r['tick']:.2f} s = {r['tick'] / 60:.1%}" for r in results],
            f"goal under {GOAL_TICK_SHARE:.0%} of the interval",
        )
    line("database size", [f"{r['db_bytes'] / 1e6:,.0f} MB" for r in results])
    for name, *_ in results[-1]["sizes"][:8]:
        cells = []
        for r in results:
            found = next((s for s in r["sizes"] if s[0] == name), None)
            cells.append(f"{found[1] / 1e6:,.1f} + {found[2] / 1e6:,.1f} MB" if found else "-")
        line(f"  {name} (table + indexes)", cells)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", default="50,500", help="items per size, comma-separated (3049 = M5 size)")
    parser.add_argument("--requests", type=int, default=15, help="timed runs of each request")
    parser.add_argument("--loads", type=int, default=3, help="cold page loads")
    parser.add_argument("--keep", action="store_true", help="keep the generated files in data/")
    parser.add_argument(
        "--existing",
        action="store_true",
        help="measure the history the database holds instead of generating and loading each size (appends days to it)",
    )
    parser.add_argument("--no-hierarchy", dest="hierarchy", action="store_false", help="skip the hierarchy's reads")
    parser.add_argument(
        "--requests-only", action="store_true", help="measure the requests only (no append, page render or tick)"
    )
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"database: {connection.settings_dict['NAME']}; started {date.today()}")
    sizes = [None] if args.existing else [int(n) for n in args.items.split(",")]
    results = [run_size(n, args) for n in sizes]
    table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
