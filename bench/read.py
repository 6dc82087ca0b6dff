"""Benchmark: which library reads sales files for sales.reading. The same job (a long file's date,
store, item and units checked as sales.reading checks them, written out as the normalized CSV) done
by pyarrow's streaming CSV reader (what sales.reading uses), by polars' streaming reader, and by
Python's csv module, each in its own process so that its peak memory is its own. Prints rows per
second, peak memory and the ratio to pyarrow. polars is not a dependency: install it by hand to
include it.

    .venv/bin/python bench/read.py [--layout favorita|classic] [--rows N]

Streaming straight into COPY (today's load path for date,store,item,sales) is bench/load.py's subject:
it cannot turn another layout into the long one.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import django_setup

DATE = r"^\d{4}-\d\d-\d\d$"
UNITS = r"^-?\d{1,15}(\.\d{1,3})?$"
COLUMNS = {"favorita": ("date", "store_nbr", "item_nbr", "unit_sales"), "classic": ("date", "store", "item", "sales")}


def with_pyarrow(path: Path, columns: tuple[str, ...], out) -> int:
    from sales import reading

    stats = reading.ReadStats()
    for chunk in reading.sales_stream(path=path, layout=reading.layout_detect(path=path), stats=stats):
        out.write(chunk)
    return stats.rows_written


def with_polars(path: Path, columns: tuple[str, ...], out) -> int:
    import polars as pl

    d, s, i, v = columns
    rows = 0
    for frame in pl.scan_csv(path, infer_schema=False).select(list(columns)).collect_batches():
        good = (
            frame[d].str.contains(DATE)
            & frame[d].str.to_date("%Y-%m-%d", strict=False).is_not_null()
            & frame[v].str.contains(UNITS)
            & frame[s].str.len_chars().is_between(1, 64)
            & frame[i].str.len_chars().is_between(1, 64)
        )
        if not good.all():
            raise ValueError("bad row")
        out.write(frame.write_csv(include_header=rows == 0).encode())
        rows += len(frame)
    return rows


def with_csv_module(path: Path, columns: tuple[str, ...], out) -> int:
    date, units = re.compile(DATE), re.compile(UNITS)
    rows = 0
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        at = [header.index(c) for c in columns]
        writer.writerow(["date", "store", "item", "sales"])
        for fields in reader:
            d, s, i, v = (fields[k] for k in at)
            if not (date.match(d) and units.match(v) and 0 < len(s) <= 64 and 0 < len(i) <= 64):
                raise ValueError("bad row")
            time.strptime(d, "%Y-%m-%d")
            writer.writerow((d, s, i, v))
            rows += 1
    text.detach()
    return rows


READERS = {"pyarrow": with_pyarrow, "polars": with_polars, "csv module": with_csv_module}


def measure(name: str, path: Path, layout: str) -> None:
    django_setup()
    reader = READERS[name]
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        rows = reader(path, COLUMNS[layout], out)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak": peak}))


def sample(layout: str, rows: int, folder: Path) -> Path:
    django_setup()
    if layout == "classic":
        from sales.sample import sample_generate

        path = folder / "train.csv"
        sample_generate(path=path)
        return path
    from sales.sample_layouts import sample_layout_write

    days = max(14, round(rows / (10 * 67 * 0.75)))
    return sample_layout_write(layout="favorita", folder=folder, days=days, stores=10, items=67).files[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layout", choices=tuple(COLUMNS), default="favorita")
    parser.add_argument("--rows", type=int, default=913_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure[0], Path(args.measure[1]), args.layout)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = sample(args.layout, args.rows, Path(folder))
        print(f"{args.layout}: {path.stat().st_size / 1e6:.1f} MB")
        results = {}
        for name in READERS:
            runs = []
            for _ in range(args.repeat):
                done = subprocess.run(
                    [sys.executable, __file__, "--layout", args.layout, "--measure", name, str(path)],
                    capture_output=True,
                    text=True,
                )
                if done.returncode:
                    print(f"{name}: skipped ({done.stderr.strip().splitlines()[-1]})")
                    break
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            if runs:
                results[name] = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    reference = results["pyarrow"]["seconds"]
    print(f"\n{'':12}{'median s':>10}{'rows/s':>12}{'peak MB':>10}{'x pyarrow':>11}")
    for name, r in results.items():
        print(
            f"{name:12}{r['seconds']:10.2f}{r['rows'] / r['seconds']:12,.0f}{r['peak'] / 1e6:10.0f}{r['seconds'] / reference:11.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
