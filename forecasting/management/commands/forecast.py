import os
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from forecasting import services
from forecasting.selectors import forecast_level_summary
from sales.selectors import stores_items_unknown


class Command(BaseCommand):
    help = "Refit the forecasts in this process (all series, or those of --store/--item) and print their accuracy."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.FORECAST_DAYS, help="horizon in days")
        parser.add_argument("--store", type=int, action="append", help="refit only this store's series (repeatable)")
        parser.add_argument("--item", type=int, action="append", help="refit only this item's series (repeatable)")
        parser.add_argument(
            "--reselect-orders", action="store_true", help="choose every ARIMA order from the grid again"
        )
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="local processes fitting chunks")

    def handle(self, *args, days, store, item, workers, reselect_orders, **options):
        if not 1 <= days <= 365:
            raise CommandError(f"--days must be between 1 and 365, got {days}")
        if workers < 1:
            raise CommandError(f"--workers must be at least 1, got {workers}")
        unknown = stores_items_unknown(store_ids=store or [], item_ids=item or [])
        for store_id in store or []:
            if store_id in unknown.stores:
                raise CommandError(f"unknown store {store_id} (--store)")
        for item_id in item or []:
            if item_id in unknown.items:
                raise CommandError(f"unknown item {item_id} (--item)")
        began = time.monotonic()
        tty = sys.stdout.isatty()

        def progress(done: int, total: int) -> None:
            if not tty:
                return
            elapsed = time.monotonic() - began
            rate = done / elapsed if elapsed else 0.0
            eta = (total - done) / rate if rate else 0.0
            self.stdout.write(f"\r{done}/{total} series  {rate:5.1f} series/s  ETA {eta:4.0f} s ", ending="")
            self.stdout.flush()

        try:
            run = services.forecast_refit(
                days=days,
                store_ids=store,
                item_ids=item,
                workers=workers,
                reselect_orders=reselect_orders,
                progress=progress,
            )
        except services.ForecastError as error:
            raise CommandError(str(error)) from None
        if tty:
            self.stdout.write("")
        seconds = time.monotonic() - began
        self.stdout.write(
            f"run {run.pk}: {run.parameters.get('refit_series', run.series_count)} series refitted in {seconds:.1f} s "
            f"({run.fallback_count} fell back to seasonal naive); trained on {run.training_start}..{run.training_end}, "
            f"forecast {run.horizon_days} days from the day after"
        )
        rows = forecast_level_summary(run=run)
        if not rows:
            self.stdout.write("no backtest (history too short)")
            return
        self.stdout.write(f"backtest on the last {run.holdout_days} days (mean over each level's series):")
        header = (
            f"{'level':<11}{'series':>7}{'SMAPE':>8}{'naive':>8}{'MAE':>10}{'naive':>10}{'cov80':>7}{'cov95':>7}"
            "  published model"
        )
        self.stdout.write(header)
        for row in rows:
            self.stdout.write(
                f"{row['level']:<11}{row['series']:>7}{row['smape']:>8.2f}{row['naive_smape']:>8.2f}"
                f"{row['mae']:>10.2f}{row['naive_mae']:>10.2f}{row['coverage_80']:>7.1f}{row['coverage_95']:>7.1f}"
                f"  {row.get('model', '')}"
            )
