"""Benchmark of the API's request time, in two parts.

1. Through Daphne against in-process (issue 11): each request the dashboard makes, plus
`/health` and `/api/stream/status`, timed through a real Daphne (HTTP keep-alive, one client)
and through Django's test Client in this process, interleaved, with a static file through the
same Daphne as the floor. Goal: every request's p50 through Daphne at most 1.5x its in-process
p50 plus 2 ms.

2. GET /api/sales/aggregated (day granularity, no filters) over the full
913,000-row history, against the raw `SELECT date, SUM(sales) FROM sales_sale
GROUP BY date ORDER BY date` on the base table, side by side in one run.

The view is timed at the server: the whole Django request (middleware, DRF,
query, JSON rendering) through the in-process test Client; the reference is
the bare query through psycopg (no HTTP, no JSON). Goal: the view faster than
the reference, p50 at most 15 ms.

Run by hand (not part of the tests), against a database you may overwrite:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesdb_api REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/api.py [--csv /tmp/train.csv] [--reload] [--runs 300] [--sql-runs 40] [--only-daphne]

It loads the CSV first (with `manage.py load_train`) when sales_sale does not hold it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Measure the production configuration: DEBUG off (no per-query bookkeeping).
os.environ["DEBUG"] = "false"
# An in-process run that signs nothing: its own key, whatever the shell has (a dev key may be too short).
os.environ["SECRET_KEY"] = "bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz"

import django  # noqa: E402

# WhiteNoise warns that collectstatic has not run; irrelevant to an API benchmark.
warnings.filterwarnings("ignore", message="No directory at")
django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

REFERENCE_SQL = "SELECT date, SUM(sales) FROM sales_sale GROUP BY date ORDER BY date"


def data_rows(csv: Path) -> int:
    with csv.open("rb") as handle:
        return sum(1 for _ in handle) - 1


def sale_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM sales_sale")
        return cursor.fetchone()[0]


def data_load(csv: Path) -> None:
    started = time.monotonic()
    command = [sys.executable, str(ROOT / "manage.py"), "load_train", str(csv), "--no-followups"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "DEBUG": "true"})
    if result.returncode == 0:
        print(f"loaded {csv} with manage.py load_train in {time.monotonic() - started:.1f} s")
        return
    # No other loader to fall back on: a psql copy would leave the rollups the API reads empty or stale.
    sys.exit(f"load_train failed, nothing to measure:\n{result.stderr.strip()}")


# What the dashboard asks for on load, plus the probes; the static file is the floor.
DAPHNE_PATHS = (
    "/health",
    "/api/stores",
    "/api/items",
    "/api/stream/status",
    "/api/sales?page_size=100",
    "/api/sales/metrics",
    "/api/sales/aggregated?granularity=month",
    "/api/sales/aggregated?granularity=day&group_by=store&store=1,2",
)
STATIC_PATH = "/static/frontend/js/main.js"


def daphne_against_in_process(*, runs: int, headers: dict[str, str]) -> bool:
    """Print p50/p95 of each path through Daphne and in-process; True when every path meets the goal."""
    import httpx

    from core.testing import DaphneProcess

    server = DaphneProcess(env={"LOG_LEVEL": "WARNING"})
    server.env_overrides["DATABASE_URL"] = settings.DATABASE_URL  # this database, not the test one
    server.start()
    try:
        local = Client(HTTP_HOST="localhost", headers=headers)
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as remote:
            floor = _timed_pair(lambda: local.get(STATIC_PATH), lambda: remote.get(STATIC_PATH), runs)
            print(f"\n{'through Daphne vs in-process, p50 (p95) ms':58} {'in-process':>16} {'Daphne':>16} {'limit':>7}")
            print(f"{'GET ' + STATIC_PATH + ' (floor)':58} {_cell(floor[0]):>16} {_cell(floor[1]):>16}")
            met = True
            for path in DAPHNE_PATHS:
                here, there = _timed_pair(lambda p=path: local.get(p), lambda p=path: remote.get(p), runs)
                limit = 1.5 * percentiles(here)[0] + 2
                ok = percentiles(there)[0] <= limit
                met &= ok
                print(f"{'GET ' + path:58} {_cell(here):>16} {_cell(there):>16} {limit:7.1f} {'' if ok else 'over'}")
    finally:
        server.stop()
    print(f"goal (every p50 through Daphne <= 1.5x in-process + 2 ms): {'met' if met else 'NOT met'}")
    return met


def _timed_pair(local, remote, runs: int) -> tuple[list[float], list[float]]:
    """Interleaved samples, so both sides see the same moments of a busy machine."""
    for call in (local, remote):
        for _ in range(5):
            response = call()
            assert response.status_code == 200, (response.status_code, response.content[:200])
    here: list[float] = []
    there: list[float] = []
    for _ in range(runs):
        for call, samples in ((local, here), (remote, there)):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
    return here, there


def _cell(samples: list[float]) -> str:
    p50, p95 = percentiles(samples)
    return f"{p50:.1f} ({p95:.1f})"


def bench_token() -> tuple[str, Any]:
    """A token of a throwaway superuser (read access whatever PUBLIC_READ says); delete the user after."""
    from django.contrib.auth import get_user_model

    from core.services import access_token_create

    user = get_user_model().objects.create(username="bench-api-reader", is_staff=False, is_superuser=True)
    return access_token_create(user=user, expires_days=1), user


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def time_view(client: Client, url: str, runs: int) -> tuple[list[float], bytes]:
    body = b""
    for _ in range(5):  # warm-up: connections, imports, plan caches
        client.get(url)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:200]
        body = response.content
    return samples, body


def time_sql(runs: int) -> tuple[list[float], list]:
    rows: list = []
    dsn = settings.DATABASE_URL
    with psycopg.connect(dsn) as conn:
        for _ in range(3):
            conn.execute(REFERENCE_SQL).fetchall()
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            rows = conn.execute(REFERENCE_SQL).fetchall()
            samples.append((time.perf_counter() - started) * 1000)
    return samples, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, default=Path("/tmp/train.csv"))
    parser.add_argument(
        "--reload", action="store_true", help="load the CSV even if the table already holds its row count"
    )
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--sql-runs", type=int, default=40)
    parser.add_argument("--daphne-runs", type=int, default=200, help="samples per path and side in part 1")
    parser.add_argument("--only-daphne", action="store_true", help="part 1 only")
    args = parser.parse_args()

    if not args.only_daphne and (args.reload or sale_count() != data_rows(args.csv)):
        data_load(args.csv)
    rows = sale_count()
    print(f"database {connection.settings_dict['NAME']}: {rows:,} rows in sales_sale; DEBUG={settings.DEBUG}")
    print(
        f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} (other work on the machine skews the figures)"
    )
    token, reader = bench_token()
    try:
        daphne_met = daphne_against_in_process(runs=args.daphne_runs, headers={"Authorization": f"Token {token}"})
    finally:
        reader.delete()
    if args.only_daphne:
        return 0 if daphne_met else 1

    client = Client(HTTP_HOST="localhost")
    url = "/api/sales/aggregated?granularity=day"
    view_ms, body = time_view(client, url, args.runs)
    sql_ms, sql_rows = time_sql(args.sql_runs)

    # Same answer, or the comparison means nothing.
    results = json.loads(body)["results"]
    assert [(r["period"], r["sales"]) for r in results] == [(d.isoformat(), int(s)) for d, s in sql_rows], (
        "results differ"
    )

    view_p50, view_p95 = percentiles(view_ms)
    sql_p50, sql_p95 = percentiles(sql_ms)
    print(f"\n{'':58} {'p50 ms':>9} {'p95 ms':>9} {'runs':>6}")
    print(f"{'GET ' + url + ' (whole request)':58} {view_p50:9.2f} {view_p95:9.2f} {len(view_ms):6}")
    print(f"{'raw GROUP BY date on sales_sale (psycopg)':58} {sql_p50:9.2f} {sql_p95:9.2f} {len(sql_ms):6}")
    print(f"\nratio reference/view at p50: {sql_p50 / view_p50:.1f}x faster ({len(results)} periods)")
    goal = view_p50 <= 15 and view_p50 < sql_p50
    print(f"goal (p50 <= 15 ms and faster than the reference): {'met' if goal else 'NOT met'}")

    print("\nother shapes (informational):")
    for extra in (
        "granularity=week",
        "granularity=month",
        "group_by=store",
        "group_by=item&granularity=month",
        "store=3&granularity=week",
        "store=3&item=7",
    ):
        samples, _ = time_view(client, f"/api/sales/aggregated?{extra}", max(20, args.runs // 10))
        p50, p95 = percentiles(samples)
        print(f"  {extra:40} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
    for path in ("/api/sales/metrics", "/api/sales?page_size=100", "/api/sales?store=3&item=7&ordering=-date"):
        samples, _ = time_view(client, path, 20)
        p50, p95 = percentiles(samples)
        print(f"  {path:40} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")

    print("\nadmin pages on the same data (informational; no full COUNT(*) expected):")
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create(username="bench-api-admin", is_staff=True, is_superuser=True)
    try:
        admin_client = Client(HTTP_HOST="localhost")
        admin_client.force_login(staff)
        for path in (
            "/admin/sales/sale/",
            "/admin/sales/sale/?store__id__exact=3",
            "/admin/sales/sale/?date__year=2016&date__month=3",
            "/admin/sales/sale/?q=7",
        ):
            samples, _ = time_view(admin_client, path, 10)
            p50, p95 = percentiles(samples)
            print(f"  {path:48} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
    finally:
        staff.delete()
    return 0 if goal and daphne_met else 1


if __name__ == "__main__":
    sys.exit(main())
