"""How fast the dashboard is in a real browser, with the 913,000-row sample loaded.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/page.py [--loads 7] [--batches 10]

Starts its own Daphne (free port) on the database in DATABASE_URL, then drives
Debian's headless Chromium:

  render   navigation start -> every panel drawn with data (the page's own
           "dashboard-ready" mark), fresh browser context each load (cold cache)
           and the same context again (warm cache); median of --loads
  assets   bytes of our own JS + CSS (not the vendored chart library), on disk
           and as transferred
  batch    POST /api/sales/ingest sent -> its row in the live feed's DOM
           (a MutationObserver in the page stamps the arrival); median of --batches

Reference, side by side: the same API requests the page makes on load, fired
in parallel straight from Python (the floor the server sets), and the goals
from the issue. Note: the batches add a few units to today's sales.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

GOALS = {"render_s": 1.5, "assets_kb": 110.0, "batch_s": 1.0}
OWN_ASSETS = BASE_DIR / "frontend" / "static" / "frontend"

READY_MS = "() => performance.getEntriesByName('dashboard-ready')[0]?.startTime ?? null"
WATCH_FEED = """() => {
  window.__arrivals = {};
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (n.dataset?.eventId) window.__arrivals[n.dataset.eventId] = performance.timeOrigin + performance.now();
  }).observe(document.querySelector('.feed'), {childList: true});
}"""


def prepare() -> str:
    """Check the sample is loaded; return an API token for the ingest."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from core.services import access_token_create
    from sales.models import Sale

    rows = Sale.objects.count()
    if rows < 900_000:
        sys.exit(
            f"only {rows:,} sales rows: load the sample first (manage.py load_train /tmp/train.csv --align-to-today)"
        )
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username="bench-page")
    user.groups.add(Group.objects.get_or_create(name="ingest")[0])  # the POST /api/sales/ingest role
    print(f"database: {rows:,} sales rows")
    return access_token_create(user=user, expires_days=1)


def own_asset_bytes() -> int:
    return sum(p.stat().st_size for d in ("js", "css") for p in (OWN_ASSETS / d).rglob("*") if p.is_file())


def api_reference(url: str, bootstrap: dict, loads: int) -> float:
    """Median wall time of the page's load-time API requests fired in parallel from Python."""
    from datetime import date, timedelta

    import httpx

    first = (date.fromisoformat(bootstrap["date_to"]) - timedelta(days=364)).isoformat()
    requests = [
        ("/api/sales/metrics", {"date_from": first}),
        ("/api/sales/metrics", {}),
        ("/api/sales/aggregated", {"date_from": first, "granularity": "day"}),
        ("/api/sales/aggregated", {"date_from": first, "granularity": "month", "group_by": "store"}),
        ("/api/sales/aggregated", {"date_from": first, "granularity": "month", "group_by": "item"}),
        ("/api/sales/predictions", {}),
        ("/", {}),
    ]
    times = []
    with httpx.Client(base_url=url, timeout=30) as client, ThreadPoolExecutor(len(requests)) as pool:
        for _ in range(loads):
            started = time.perf_counter()
            list(pool.map(lambda r: client.get(r[0], params=r[1]), requests))
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument(
        "--screenshot", type=Path, help="also save the page (1440x900, light) here, e.g. docs/screenshot.png"
    )
    args = parser.parse_args()
    token = prepare()

    import httpx
    from playwright.sync_api import sync_playwright

    from core.testing import CHROMIUM, CHROMIUM_ARGS, DaphneProcess

    # A wall screen's set-up: the page reads with no login (PUBLIC_READ), as the benchmark's browser has none.
    server = DaphneProcess(env={"PUBLIC_READ": "true"})
    server.start()
    try:
        url = server.url
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            cold, warm, transferred = [], [], 0
            for i in range(args.loads + 1):  # the first load warms the server (connections, query plans)
                context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
                page = context.new_page()
                page.goto(url)
                page.wait_for_selector("html[data-ready=true]", timeout=30_000)
                if i:
                    cold.append(page.evaluate(READY_MS) / 1000)
                    transferred = page.evaluate(
                        "() => performance.getEntriesByType('resource').filter(e => /static\\/frontend\\/(js|css)\\//.test(e.name)).reduce((s, e) => s + e.encodedBodySize, 0)"
                    )
                    page.reload()
                    page.wait_for_selector("html[data-ready=true]", timeout=30_000)
                    warm.append(page.evaluate(READY_MS) / 1000)
                bootstrap = page.evaluate(
                    "() => JSON.parse(document.getElementById('dashboard-bootstrap').textContent)"
                )
                context.close()

            context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("html[data-ready=true]", timeout=30_000)
            page.wait_for_selector('#connection[data-status="live"]', timeout=30_000)
            page.evaluate(WATCH_FEED)
            delays = []
            with httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=30) as client:
                rng = random.Random(7)
                stores = [s["id"] for s in bootstrap["stores"]]
                items = [i["id"] for i in bootstrap["items"]]
                for _ in range(args.batches):
                    # About what the whole business sells in the second between two batches.
                    rows = [
                        {"store": rng.choice(stores), "item": rng.choice(items), "quantity": 1}
                        for _ in range(rng.randint(1, 2))
                    ]
                    sent = time.time() * 1000
                    event = client.post("/api/sales/ingest", json={"rows": rows}).json()
                    page.wait_for_selector(f'.feed li[data-event-id="{event["id"]}"]', timeout=10_000)
                    arrived = page.evaluate(f"() => window.__arrivals['{event['id']}']")
                    delays.append((arrived - sent) / 1000)
                    page.wait_for_timeout(1000)
            if args.screenshot:
                page.wait_for_timeout(1500)  # let the arrival flashes fade
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.screenshot), full_page=True)
                print(f"screenshot: {args.screenshot}")
            browser.close()
        reference = api_reference(url, bootstrap, args.loads)
    finally:
        server.stop()

    render = statistics.median(cold)
    batch = statistics.median(delays)
    own_kb = own_asset_bytes() / 1024
    print(f"\n{'measure':<34}{'result':>12}{'reference':>14}{'ratio':>8}")
    print(
        f"{'render, cold cache (median)':<34}{render:>11.3f}s{reference:>13.3f}s{render / reference:>8.2f}  (reference: the page's API calls in parallel from Python)"
    )
    print(
        f"{'render, warm cache (median)':<34}{statistics.median(warm):>11.3f}s{reference:>13.3f}s{statistics.median(warm) / reference:>8.2f}"
    )
    print(f"{'render vs goal':<34}{render:>11.3f}s{GOALS['render_s']:>13.3f}s{render / GOALS['render_s']:>8.2f}")
    print(
        f"{'own JS+CSS on disk':<34}{own_kb:>10.1f}KB{GOALS['assets_kb']:>12.1f}KB{own_kb / GOALS['assets_kb']:>8.2f}  (goal; transferred {transferred / 1024:.1f} KB)"
    )
    print(
        f"{'batch POST -> feed row (median)':<34}{batch:>11.3f}s{GOALS['batch_s']:>13.3f}s{batch / GOALS['batch_s']:>8.2f}  (goal; max {max(delays):.3f} s)"
    )
    print(f"\nloads: {args.loads}, cold renders {[round(t, 3) for t in cold]}, batches: {args.batches}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
