from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sales.loading import Stopwatch
from sales.reading import Layout, columns_parse
from sales.services import LoadError, LoadSummary, sales_load_files

STAGE_LABELS = {
    "reading": "reading",
    "copied": "writing sales_sale",
    "written": "rebuilding rollups",
    "rebuilt": "filling the days up to today with generated sales",
    "rollups": "committing",
    "committed": "vacuuming (the visibility map, for index-only scans)",
}


def _columns(text: str) -> dict[str, str]:
    try:
        return columns_parse(text)
    except ValueError as error:
        raise CommandError(f"--columns: {error}") from None


class Command(BaseCommand):
    help = (
        "Load a sales file (default: settings.TRAIN_CSV_PATH) into the sales history with PostgreSQL COPY: "
        "date,store,item,sales, any column names through --columns, M5's wide file with --calendar, Favorita's "
        "or Walmart's train.csv, as CSV, gzip, zip (also zips inside a zip), 7z or Parquet. --stores/--items "
        "read attribute files (alone: SALES defaults to nothing). "
        "Replaces the history unless --append. Nothing is written if any row is bad. "
        "A (store, item) with no row on a day sold nothing that day; before its first row it did not exist yet "
        "(a product launch): the forecasts fit it from its first sale on."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="the sales file (default: TRAIN_CSV_PATH)")
        parser.add_argument("--calendar", help="the calendar of a wide file (M5's calendar.csv: d_1.. to dates)")
        parser.add_argument("--stores", help="a stores file (code, name, region; Favorita's stores.csv)")
        parser.add_argument("--items", help="an items file (code, name, category, department; Favorita's items.csv)")
        parser.add_argument(
            "--columns",
            type=_columns,
            help="ROLE=COLUMN,... naming the file's columns, e.g. date=Date,store=Store,item=Dept,sales=Weekly_Sales "
            "(roles: date, store, item, sales, store_name, item_name, category, department, region, unit)",
        )
        parser.add_argument(
            "--append", action="store_true", help="upsert into the existing history instead of replacing it"
        )
        parser.add_argument(
            "--align-to-today",
            action="store_true",
            help="shift every date by whole weeks so the last one falls in the week before today, and fill the "
            "days from there to yesterday with generated sales (marked generated)",
        )
        parser.add_argument(
            "--no-followups",
            action="store_true",
            help="do not enqueue the streaming profile and forecast refresh tasks after the load",
        )

    def handle(self, *args, path, calendar, stores, items, columns, append, align_to_today, no_followups, **options):
        progress = self._progress if self.stdout.isatty() else None
        self._clock = Stopwatch()
        self._rows = 0
        if path is None and stores is None and items is None:
            path = str(settings.TRAIN_CSV_PATH)
        try:
            result = sales_load_files(
                sales=None if path is None else Path(path),
                calendar=None if calendar is None else Path(calendar),
                stores=None if stores is None else Path(stores),
                items=None if items is None else Path(items),
                columns=columns,
                append=append,
                align_to_today=align_to_today,
                progress=progress,
                followups=not no_followups,
                on_wait=self._waiting,
            )
        except LoadError as error:
            raise CommandError(str(error)) from None
        finally:
            if progress is not None:
                self.stdout.write("\r\033[K", ending="")
        for kind, rows in (("stores", result.stores), ("items", result.items)):
            if rows:
                self.stdout.write(f"read {len(rows):,} {kind} from {stores if kind == 'stores' else items}")
        if result.load is not None:
            self._report(result.load, layout=result.layout)
            if result.load.frequency != "W":  # a weekly history gets nothing generated either way (see _report)
                self._generator_note(path=path, align_to_today=align_to_today)

    def _generator_note(self, *, path: str | None, align_to_today: bool) -> None:
        """Say how to keep generated sales out of a real history (the sample demo wants them)."""
        if not settings.LIVE_GENERATOR:
            if align_to_today:
                self.stdout.write(
                    "the live generator is off (LIVE_GENERATOR=false): no day after the history was filled"
                )
            return
        if path is not None and Path(path).resolve() == Path(settings.TRAIN_CSV_PATH).resolve():
            return  # the demo's sample file
        self.stdout.write(
            "note: the live generator is on: every interval it adds generated sales to today's history (marked "
            "generated), and a load aligned to today fills the days up to it the same way. For a real history, "
            "turn it off: LIVE_GENERATOR=false in the environment (.env) of the web, worker and beat processes, "
            "then restart them."
        )

    def _report(self, summary: LoadSummary, *, layout: Layout | None) -> None:
        if layout is not None and layout.name != "long":
            self.stdout.write(f"layout: {layout.name} ({'weekly' if layout.frequency == 'W' else 'daily'})")
        for warning in summary.warnings:
            self.stderr.write(f"warning: {warning}")
        shift = f", dates shifted by {summary.shift_days // 7:+d} weeks" if summary.shift_days else ""
        if summary.generated_days:
            days = summary.generated_days
            shift += f"; {len(days)} days after it generated ({days[0]} to {days[-1]}, marked generated)"
        if summary.frequency == "W":
            # Say what the daily-only features do with it, so a missing generated week is no surprise.
            shift += (
                "; weekly history: shown by week, no days generated (the live generator and gap fill are daily-only)"
            )
        mode = f"appended ({summary.total_rows:,} rows in total)" if summary.appended else "replaced the history"
        self.stdout.write(
            f"loaded {summary.rows:,} rows from {summary.path}: {summary.date_from} to {summary.date_to}, "
            f"{summary.stores} stores, {summary.items} items, {summary.seconds:.1f} s "
            f"({summary.rows / max(summary.seconds, 1e-9):,.0f} rows/s); {mode}{shift}"
        )

    def _waiting(self) -> None:
        if not getattr(self, "_said_waiting", False):
            self._said_waiting = True
            self.stderr.write("another load is running (load_train or an upload from the browser): waiting for it")

    def _progress(self, stage: str, rows: int) -> None:
        rows = self._rows = max(rows, self._rows)
        seconds = self._clock.seconds
        rate = f" ({rows / seconds:,.0f} rows/s)" if seconds > 0 and stage == "reading" else ""
        self.stdout.write(f"\r\033[K{STAGE_LABELS.get(stage, stage)}: {rows:,} rows{rate}", ending="")
        self.stdout.flush()
