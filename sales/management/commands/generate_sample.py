from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sales.sample import sample_generate


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Write a realistic train.csv (date,store,item,sales) with the shape of the public store-item demand data."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(settings.TRAIN_CSV_PATH))
        parser.add_argument("--stores", type=int, default=10)
        parser.add_argument("--items", type=int, default=50)
        parser.add_argument("--start", type=_iso_date, default=date(2013, 1, 1))
        parser.add_argument("--end", type=_iso_date, default=date(2017, 12, 31))
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--force", action="store_true", help="overwrite PATH when it exists")

    def handle(self, *args, path, stores, items, start, end, seed, force, **options):
        target = Path(path)
        # The default path is where the real history lives: never replace a file silently.
        if target.exists() and not force:
            raise CommandError(f"{target} exists; pass --force to overwrite it")
        try:
            rows = sample_generate(path=target, stores=stores, items=items, start=start, end=end, seed=seed)
        except ValueError as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(f"{target}: cannot write ({error.strerror})") from None
        self.stdout.write(
            f"wrote {rows:,} rows to {path} ({stores} stores x {items} items, {start} to {end}, seed {seed})"
        )
