from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sales.sample import FLOOR_DAYS, SHAPES, sample_generate
from sales.sample_layouts import LAYOUTS, sample_layout_write


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Write a realistic train.csv (date,store,item,sales). --shape tidy: the public store-item demand data "
        "(one company-wide calendar); retail: each item its own season and weekend, stores trending apart, "
        "closed on 25 December with a rush before; slow: 0-2 units a day, 1 % of rows missing, recent launches. "
        f"Prints the noise floor: the store-item SMAPE of the true rates over the last {FLOOR_DAYS} days. "
        "With --layout m5|favorita|walmart, PATH is a folder that gets small files in that public layout "
        "(their headers, codes, hierarchy, calendar, fractional units, returns, weekly dates)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(settings.TRAIN_CSV_PATH))
        parser.add_argument("--stores", type=int, default=10)
        parser.add_argument("--items", type=int, default=50)
        parser.add_argument("--start", type=_iso_date, default=date(2013, 1, 1))
        parser.add_argument("--end", type=_iso_date, default=date(2017, 12, 31))
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--shape", choices=SHAPES, default="tidy", help="what the history looks like")
        parser.add_argument("--force", action="store_true", help="overwrite PATH when it exists")
        parser.add_argument("--layout", choices=LAYOUTS, help="write a public dataset's layout into the folder PATH")
        parser.add_argument(
            "--days", type=int, default=120, help="with --layout: the history's length in days (walmart: weeks x 7)"
        )

    _shown = 0

    def _progress(self, written: int, total: int) -> None:
        # A line per tenth of a big file; small ones go by in a blink.
        if total >= 5_000_000 and written * 10 // total > self._shown:
            self._shown = written * 10 // total
            self.stderr.write(f"generating: {written:,} of {total:,} rows")

    def handle(self, *args, path, stores, items, start, end, seed, shape, force, layout, days, **options):
        target = Path(path)
        if layout is not None:
            self._layout_write(
                folder=target, layout=layout, days=days, seed=seed, force=force, stores=stores, items=items
            )
            return
        # The default path is where the real history lives: never replace a file silently.
        if target.exists() and not force:
            raise CommandError(f"{target} exists; pass --force to overwrite it")
        try:
            summary = sample_generate(
                path=target,
                stores=stores,
                items=items,
                start=start,
                end=end,
                seed=seed,
                shape=shape,
                progress=self._progress,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(f"{target}: cannot write ({error.strerror})") from None
        self.stdout.write(
            f"wrote {summary.rows:,} rows to {path} ({shape} shape, {stores} stores x {items} items, "
            f"{start} to {end}, seed {seed})"
        )
        self.stdout.write(
            f"noise floor: store-item SMAPE {summary.noise_floor_smape:.2f} over the last {summary.floor_days} days "
            f"(the true rates' {summary.floor_point})"
        )

    def _layout_write(
        self, *, folder: Path, layout: str, days: int, seed: int, force: bool, stores: int, items: int
    ) -> None:
        if folder.exists() and not folder.is_dir():
            raise CommandError(f"{folder} is a file; --layout writes into a folder")
        if folder.is_dir() and any(folder.iterdir()) and not force:
            raise CommandError(f"{folder} is not empty; pass --force to write into it")
        try:
            sample = sample_layout_write(layout=layout, folder=folder, days=days, seed=seed, stores=stores, items=items)
        except ValueError as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(f"{folder}: cannot write ({error.strerror})") from None
        names = ", ".join(p.name for p in sample.files)
        self.stdout.write(f"wrote {layout} sample to {folder}: {names} ({sample.rows:,} sales rows)")
