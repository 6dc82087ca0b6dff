"""Benchmark: `manage.py load_train` against `psql \\copy` of the same file into
the same table (sales_sale, with all its indexes and constraints), side by side
in one run. Goal: load_train at most 1.5x the time of \\copy for 913,000 rows.

    DATABASE_URL=postgres://... .venv/bin/python bench/load.py [PATH] [--repeat N]
    DATABASE_URL=postgres://... .venv/bin/python bench/load.py --layout m5|favorita|walmart [--rows N]

With --layout, a sample of that public layout with about --rows rows (913,000) is generated, and
the reader's normalized stream (rows per second, peak memory of its process) and `load_train` of
the file as it is are set against `psql \\copy` of the equivalent long file (stores and items as
ids, units as numeric) into a table shaped like sales_sale. For m5 it states the rows with and
without the zeros before each item's first sale.

PATH defaults to /tmp/train.csv, then data/train.csv, else a 913,000-row sample
is generated in a temporary directory. Needs `psql` on PATH. It replaces the
sales history of the database it is pointed at (and leaves the file loaded).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import BASE_DIR, django_setup, pick_file

django_setup()

import load_layouts as layouts  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

GOAL_RATIO = 1.5


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or settings.DATABASE_URL
    # psql understands postgres:// URIs but not dj-database-url's extra schemes.
    return url.replace("postgresql+psycopg://", "postgresql://").replace("pgsql://", "postgresql://")


def sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def settle() -> None:
    """Start each timed run from the same place: dirty pages flushed."""
    try:
        sql("CHECKPOINT")
    except Exception as error:  # not a superuser: fine, just noisier
        print(f"(CHECKPOINT skipped: {error})")


def time_psql_copy(path: Path, url: str) -> float:
    sql("TRUNCATE sales_sale")
    settle()
    command = f"\\copy sales_sale(date, store_id, item_id, sales) FROM '{path}' WITH (FORMAT csv, HEADER)"
    started = time.perf_counter()
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", command], check=True)
    return time.perf_counter() - started


def time_load_train(path: Path) -> float:
    settle()
    started = time.perf_counter()
    call_command("load_train", str(path), "--no-followups", stdout=io.StringIO())
    return time.perf_counter() - started


def time_load_train_process(path: Path) -> float:
    settle()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "load_train", str(path), "--no-followups"],
        cwd=BASE_DIR,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--layout", choices=("m5", "favorita", "walmart"))
    parser.add_argument("--rows", type=int, default=913_000)
    parser.add_argument("--stream-only", nargs=2, metavar=("LAYOUT", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_only:
        return layouts.stream_measure(layout=args.stream_only[0], folder=Path(args.stream_only[1]))
    if not shutil.which("psql"):
        print("psql is not on PATH: it is the reference this benchmark compares against", file=sys.stderr)
        return 2
    if args.layout:
        return layouts.layout_bench(layout=args.layout, rows=args.rows, repeat=args.repeat, url=database_url())

    with tempfile.TemporaryDirectory() as workdir:
        path = pick_file(args.path, Path(workdir)).resolve()
        url = database_url()
        call_command("migrate", verbosity=0)
        with path.open("rb") as handle:
            rows = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1
        print(f"file: {path} ({rows:,} data rows, {path.stat().st_size / 1e6:.1f} MB)")
        print(
            f"database: {connection.settings_dict['NAME']} on {connection.settings_dict.get('HOST') or 'local socket'}"
        )

        # Warm-up (not timed): creates the stores and items \copy's foreign keys need, warms caches.
        time_load_train(path)

        reference, ours = [], []
        for run in range(1, args.repeat + 1):
            # Alternate the order so neither side always runs on a warmer cache.
            if run % 2:
                reference.append(time_psql_copy(path, url))
                ours.append(time_load_train(path))
            else:
                ours.append(time_load_train(path))
                reference.append(time_psql_copy(path, url))
            print(f"run {run}: psql \\copy {reference[-1]:6.2f} s   load_train {ours[-1]:6.2f} s")
        process = time_load_train_process(path)  # last: leaves the history loaded by our loader

    ref, our = statistics.median(reference), statistics.median(ours)
    ratio = our / ref
    print()
    print(f"{'':28}{'median s':>10}{'rows/s':>12}")
    label = "psql \\copy (reference)"
    print(f"{label:28}{ref:10.2f}{rows / ref:12,.0f}")
    print(f"{'load_train (in process)':28}{our:10.2f}{rows / our:12,.0f}")
    print(
        f"{'manage.py load_train':28}{process:10.2f}{rows / process:12,.0f}   (one run, incl. Python/Django start-up)"
    )
    print()
    print(
        f"ratio load_train / psql \\copy: {ratio:.2f}x (goal: at most {GOAL_RATIO}x) -> {'OK' if ratio <= GOAL_RATIO else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
