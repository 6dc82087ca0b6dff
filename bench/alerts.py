"""Alerts benchmark: evaluation time per tick against the tick, and delivery latency batch -> receiver.

Two sizes, each with four rules: one over every store, one over every item, one over every
store-item (below the forecast's paced 80 % interval), and a no-data rule over every store-item of the history:
- usual: 10 stores x 50 items, 2013-2017 (913,000 rows);
- m5:    10 stores x 3,049 items (30,490 series), the last 30 days (about 915,000 rows).
Each size loads its history aligned to today (REPLACING the history of the database DATABASE_URL names:
use a scratch one), writes a forecast of today for every series, fits the generator and then, for
--ticks ticks, times the generator's tick (tick_generate: draw, write, event log) and the evaluation of
the rules after it (alerts_evaluate, as the task runs it). Printed: per-tick milliseconds, and the
evaluation as a share of the interval (target: at most 10 %) and as a ratio to the tick itself.

Delivery latency (--latency N): a real Celery worker, a threshold rule that fires on every ingest
batch and a webhook receiver on loopback; measured from just before the ingest's write to the
receiver's receipt of the signed webhook.

    DATABASE_URL=postgres://.../scratch REDIS_URL=... .venv/bin/python bench/alerts.py [--sizes usual,m5] [--ticks 5] [--latency 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import django_setup

SIZES = {
    "usual": {"stores": 10, "items": 50, "days": None},
    "m5": {"stores": 10, "items": 3049, "days": 30},
}


def history_setup(*, stores: int, items: int, days: int | None, workdir: Path) -> int:
    from django.utils import timezone

    from sales.sample import sample_generate
    from sales.services import sales_load_csv
    from streaming.services import profile_fit

    path = workdir / "history.csv"
    end = date(2017, 12, 31)
    start = end - timedelta(days=days - 1) if days else date(2013, 1, 1)
    sample_generate(path=path, stores=stores, items=items, start=start, end=end)
    summary = sales_load_csv(path=path, align_to_today=True, followups=False)
    profile_fit()
    del timezone
    return summary.rows


def forecast_setup() -> int:
    """A complete run with today's forecast for every series: each series' mean over the last 28 days."""
    from django.db.models import Avg
    from django.utils import timezone

    from forecasting.models import ForecastPoint, ForecastRun, SeriesForecast
    from sales.models import DailyItemTotal, DailyStoreTotal, DailyTotal, Sale

    today = timezone.localdate()
    since = today - timedelta(days=28)
    now = timezone.now()
    run = ForecastRun.objects.create(
        status="complete", started_at=now, finished_at=now, horizon_days=30, training_start=since, training_end=today
    )
    means = {("total", None, None): DailyTotal.objects.filter(date__gte=since).aggregate(m=Avg("sales"))["m"]}
    for model, level, key in ((DailyStoreTotal, "store", "store_id"), (DailyItemTotal, "item", "item_id")):
        for ident, mean in (
            model.objects.filter(date__gte=since).values(key).annotate(m=Avg("sales")).values_list(key, "m")
        ):
            means[(level, ident if level == "store" else None, ident if level == "item" else None)] = mean
    pairs = Sale.objects.filter(date__gte=since).values("store_id", "item_id").annotate(m=Avg("sales"))
    for row in pairs.values_list("store_id", "item_id", "m"):
        means[("store_item", row[0], row[1])] = row[2]
    series = SeriesForecast.objects.bulk_create(
        [SeriesForecast(run=run, level=lv, store_id=s, item_id=i, fitted_at=now) for lv, s, i in means],
        batch_size=5000,
    )
    points = [
        ForecastPoint(
            series=sf,
            date=today,
            yhat=float(m),
            mean=float(m),
            lower_80=float(m) * 0.8,
            upper_80=float(m) * 1.2,
            lower_95=float(m) * 0.6,
            upper_95=float(m) * 1.4,
        )
        for sf, m in zip(series, means.values(), strict=True)
    ]
    ForecastPoint.objects.bulk_create(points, batch_size=5000)
    return len(points)


def rules_setup() -> None:
    from django.utils import timezone

    from alerts.models import AlertState, Notification, Rule, StateChange

    Notification.objects.all().delete()
    StateChange.objects.all().delete()
    AlertState.objects.all().delete()
    Rule.objects.all().delete()
    now = timezone.now() - timedelta(days=1)
    for level in ("store", "item", "store_item"):
        Rule.objects.create(
            name=f"every {level}",
            level=level,
            condition="forecast_interval",
            direction="below",
            interval=80,
            created_at=now,
            updated_at=now,
        )
    # And one no-data rule over every store-item of the history (those that sent nothing included).
    Rule.objects.create(
        name="no data, every store_item",
        level="store_item",
        condition="no_data",
        no_data_intervals=5,
        created_at=now,
        updated_at=now,
    )


def ticks_time(*, ticks: int) -> list[tuple[float, float, int, int]]:
    """(tick ms, evaluation ms, series judged, changes) per tick, at consecutive interval boundaries from now."""
    from django.conf import settings
    from django.utils import timezone

    from alerts.services import alerts_evaluate
    from streaming.models import SalesEvent
    from streaming.services import interval_floor, tick_generate

    seconds = settings.STREAMING_INTERVAL_SECONDS
    SalesEvent.objects.all().delete()
    moment = interval_floor(moment=timezone.now(), seconds=seconds) + timedelta(seconds=1)
    tick_generate(now=moment - timedelta(seconds=seconds), seed=0)  # today's catch-up, outside the timing
    alerts_evaluate(now=moment - timedelta(seconds=seconds))  # warm the per-process caches (forecast, pace)
    results = []
    for k in range(ticks):
        started = time.perf_counter()
        ids = tick_generate(now=moment, seed=k + 1)
        ticked = time.perf_counter()
        summary = alerts_evaluate(now=moment, event_id=ids[-1] if ids else None)
        done = time.perf_counter()
        results.append(((ticked - started) * 1000, (done - ticked) * 1000, summary.series, summary.changes))
        moment += timedelta(seconds=seconds)
    return results


def latency_measure(*, batches: int, workdir: Path) -> list[float]:
    from django.utils import timezone

    from alerts.models import ContactPoint, Rule
    from alerts.services import contact_point_save
    from alerts.tests.helpers import WebhookReceiver
    from core.testing import CeleryWorkerProcess
    from streaming.services import sales_ingest

    Rule.objects.all().delete()
    receiver = WebhookReceiver(signing_key="bench")
    receiver.start()
    ContactPoint.objects.filter(name="bench").delete()
    point = contact_point_save(fields={"name": "bench", "kind": "webhook"}, url=receiver.url, signing_key="bench")
    worker = CeleryWorkerProcess(log_dir=workdir, env={"ALERTS_WEBHOOK_ALLOW": "loopback"}, concurrency=2)
    worker.start()
    latencies = []
    try:
        for k in range(batches):
            now = timezone.now()
            rule = Rule.objects.create(
                name=f"latency {k}",
                level="store",
                store_id=1,
                condition="threshold",
                direction="above",
                threshold=-1,
                created_at=now,
                updated_at=now,
            )
            rule.contact_points.add(point)
            before = len(receiver.accepted)
            started = time.time()
            sales_ingest(rows=[(1, 1, 1)])
            while len(receiver.accepted) == before and time.time() - started < 30:
                time.sleep(0.002)
            latencies.append(
                (receiver.accepted[-1]["at"] - started) * 1000 if len(receiver.accepted) > before else float("nan")
            )
            # Disabled, not deleted: its notification may still be committing its delivery attempt.
            Rule.objects.filter(pk=rule.pk).update(enabled=False)
    finally:
        worker.stop()
        receiver.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="usual,m5")
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--latency", type=int, default=10, help="batches for the delivery latency (0: skip)")
    args = parser.parse_args()
    django_setup()
    from django.conf import settings

    interval_ms = settings.STREAMING_INTERVAL_SECONDS * 1000
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name in args.sizes.split(","):
            size = SIZES[name]
            started = time.perf_counter()
            rows = history_setup(stores=size["stores"], items=size["items"], days=size["days"], workdir=workdir)
            forecasts = forecast_setup()
            rules_setup()
            print(
                f"\n{name}: {rows:,} rows, {forecasts:,} forecasts of today, set up in {time.perf_counter() - started:.0f} s"
            )
            print(
                f"{'tick':>4} {'tick ms':>9} {'eval ms':>9} {'series':>8} {'changes':>8} {'eval/interval':>14} {'eval/tick':>10}"
            )
            results = ticks_time(ticks=args.ticks)
            for k, (tick_ms, eval_ms, series, changes) in enumerate(results):
                print(
                    f"{k:>4} {tick_ms:>9.0f} {eval_ms:>9.0f} {series:>8,} {changes:>8,} {eval_ms / interval_ms:>13.1%} {eval_ms / tick_ms:>9.2f}x"
                )
            median_eval = statistics.median(r[1] for r in results)
            median_tick = statistics.median(r[0] for r in results)
            print(
                f"median: evaluation {median_eval:.0f} ms vs interval {interval_ms:,} ms ({median_eval / interval_ms:.1%}, target <= 10 %); "
                f"vs the tick itself {median_tick:.0f} ms ({median_eval / median_tick:.2f}x)"
            )
        if args.latency:
            latencies = latency_measure(batches=args.latency, workdir=workdir)
            ok = sorted(x for x in latencies if x == x)
            print(
                f"\ndelivery latency batch -> receiver over {len(latencies)} batches ({len(latencies) - len(ok)} lost): "
                f"p50 {statistics.median(ok):.0f} ms, max {max(ok):.0f} ms (reference: one interval, {interval_ms:,} ms)"
            )


if __name__ == "__main__":
    main()
