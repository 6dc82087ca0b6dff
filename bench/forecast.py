"""Benchmark: the forecasts on every sample shape, against the baselines and the noise floor.

    DATABASE_URL=postgres://... .venv/bin/python bench/forecast.py [--shapes tidy,retail,slow]
        [--stores 10 --items 50 --years 5] [--workers 2] [--reference-series 3] [--speedup]
        [--statsforecast-python /path/to/python [--statsforecast-series 50]] [--seeds 42,43,44] [--windows 3]

For each shape (`generate_sample --shape`), a sample ending yesterday is generated and
loaded (REPLACING the database's sales history), then refitted from cold (every ARIMA order
chosen). One table per shape, at store-item level over the 90-day backtest holdout:
- the product (the model its backtest published), and the other candidates it weighed:
  seasonal naive, same day last year, the company-wide calendar (the previous model);
- statsforecast AutoETS(season 7) and MSTL(7, 365), when `--statsforecast-python` names a
  Python that has statsforecast (a benchmark-only dependency: it wants pandas < 3, so it lives
  in its own virtualenv; see README);
- per-series pmdarima auto_arima(m=7) on `--reference-series` sampled series, its wall time
  extrapolated to every series;
- the noise floor (the generator's true rates).
Columns: SMAPE, 80/95 % interval coverage, wall time, SMAPE / floor. The sample runs UNSEEN_DAYS
(90) past the loaded history: a second table per shape scores the PUBLISHED forecast (median,
calibrated intervals) on those days, per level (store-item, item, store, total), which neither the
fit nor the backtest calibration saw; the goals are checked on it. `--speedup` also refits the
first shape on 1 worker process: series per second per process, the speedup from 1 to N
processes, and a projection for 30,490 series (the M5 data).
`--units dollars` prices every item (a fixed price from 0.99 to 19.99 each) and forecasts takings, not units:
every series' history becomes fractional (the continuous model, normal intervals), read through a patched
history reader until the sales table holds decimals (so the refit runs in this process: `--workers 1`).
`--windows N` repeats each sample with its history ending 90, 180, ... days earlier, and `--seeds`
with other samples: the goals are checked on the figures pooled over them (a sum's error is dominated
by level shifts, which one window of one sample shows once).
Goals: SMAPE within 10 % of the floor and ahead of every other column, coverage 75-85 / 92-98 at
every level.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path

from benchlib import django_setup

django_setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from django.utils import timezone  # noqa: E402

from forecasting import services  # noqa: E402
from forecasting.accuracy import smape  # noqa: E402
from forecasting.candidates import CANDIDATES  # noqa: E402
from forecasting.counts import POINT_FIELDS, Forecast, count_bands  # noqa: E402
from forecasting.models import ForecastPoint, ForecastRun, Level, SeriesForecast  # noqa: E402
from sales.sample import sample_generate  # noqa: E402
from sales.services import sales_load_csv  # noqa: E402

M5_SERIES = 30_490
FLOOR_GOAL = 1.10
UNSEEN_DAYS = 90


def item_prices(*, items: int) -> dict[int, float]:
    """A fixed shelf price per item (by code, which is its id for generated whole-number codes)."""
    rng = np.random.default_rng(2024)
    return {item: float(np.round(rng.uniform(0.99, 19.99), 2)) for item in range(1, items + 1)}


def takings_patch(*, prices: dict[int, float]) -> None:
    """Every series' history in dollars: a store-item's units times its item's price, a store's, an item's and
    the total's the sums of their store-items' takings (services reads histories through this)."""
    from forecasting.selectors import SeriesKey, series_history
    from sales.selectors import history_keys

    def takings(*, keys: list, start, end) -> dict:
        pairs = [SeriesKey(Level.STORE_ITEM, s, i) for s, i in history_keys().pairs]
        wanted = pairs if any(k.level != Level.STORE_ITEM for k in keys) else keys
        units = series_history(keys=wanted, start=start, end=end)
        out = {k: np.round(y * prices.get(k.item or 0, 1.0), 2) for k, y in units.items()}
        for key in keys:
            if key.level == Level.STORE_ITEM:
                continue
            if key.level == Level.TOTAL:
                members = pairs
            else:
                field = "store" if key.level == Level.STORE else "item"
                members = [k for k in pairs if getattr(k, field) == getattr(key, field)]
            out[key] = np.round(np.sum([out[k] for k in members], axis=0), 2)
        return {k: out[k] for k in keys}

    services.series_history = takings


def shape_load(
    *,
    shape: str,
    stores: int,
    items: int,
    years: int,
    workdir: Path,
    seed: int = 42,
    back: int = 0,
    prices: dict[int, float] | None = None,
):
    """Generate `years` of history ending yesterday (`back` days before it: an earlier backtest
    window) plus UNSEEN_DAYS after it; load the history only (ending yesterday, the load neither
    shifts it nor fills a gap before today; ending earlier, it is forecast from the day after it).
    Returns the generator's summary (its noise floor is that of the unseen days) and the unseen
    days' sales as a frame (date, store, item, sales; a missing row sold nothing)."""
    end = timezone.localdate() - timedelta(days=1 + back)
    path = workdir / f"{shape}.csv"
    summary = sample_generate(
        path=path,
        stores=stores,
        items=items,
        start=end - timedelta(days=365 * years - 1),
        end=end + timedelta(days=UNSEEN_DAYS),
        shape=shape,
        seed=seed,
    )
    frame = pd.read_csv(path, parse_dates=["date"])
    seen = frame["date"].dt.date <= end
    frame[seen].to_csv(path, index=False, date_format="%Y-%m-%d")
    sales_load_csv(path=path, align_to_today=not back, followups=False)
    unseen = frame[~seen]
    if prices:
        unseen = unseen.assign(sales=np.round(unseen["sales"] * unseen["item"].map(prices), 2))
    return summary, unseen


def published_unseen(*, run, unseen: pd.DataFrame) -> dict[str, dict]:
    """Per level, the PUBLISHED forecast (median point, calibrated 80/95 % intervals) against the
    UNSEEN_DAYS after the history: days neither the fit nor the backtest calibration ever saw."""
    first = pd.Timestamp(run.training_end + timedelta(days=1))
    if unseen["date"].min() != first:
        raise RuntimeError(f"the history ends {run.training_end}, the unseen days start {unseen['date'].min()}")
    cube = unseen.assign(day=(unseen["date"] - first).dt.days)
    sums = {
        Level.STORE_ITEM: cube.groupby(["store", "item", "day"])["sales"].sum(),
        Level.STORE: cube.groupby(["store", "day"])["sales"].sum(),
        Level.ITEM: cube.groupby(["item", "day"])["sales"].sum(),
        Level.TOTAL: cube.groupby(["day"])["sales"].sum(),
    }
    points = pd.DataFrame.from_records(
        ForecastPoint.objects.filter(series__run=run).values_list(
            "series__level",
            "series__store_id",
            "series__item_id",
            "date",
            "yhat",
            "lower_80",
            "upper_80",
            "lower_95",
            "upper_95",
        ),
        columns=["level", "store", "item", "date", "yhat", "lower_80", "upper_80", "lower_95", "upper_95"],
    )
    out: dict[str, dict] = {}
    for level in (Level.STORE_ITEM, Level.ITEM, Level.STORE, Level.TOTAL):
        actual, forecasts = [], []
        for (store, item), rows in points[points["level"] == level].groupby(["store", "item"], dropna=False):
            # The run may forecast more days than the unseen ones (today too, for a history ending yesterday).
            days = (pd.to_datetime(rows["date"]) - first).dt.days
            rows = rows[(days >= 0) & (days < UNSEEN_DAYS)].sort_values("date")
            if len(rows) != UNSEEN_DAYS:
                raise RuntimeError(f"{len(rows)} published days inside the {UNSEEN_DAYS} unseen ones")
            # The index of the level's sums: (store, item, day), (store, day), (item, day) or the day alone.
            key = {Level.STORE_ITEM: (store, item), Level.STORE: (store,), Level.ITEM: (item,), Level.TOTAL: ()}[level]
            values = [sums[level].get((*key, d) if key else d, 0) for d in range(len(rows))]
            actual.append(np.array(values, dtype=np.float64))
            forecasts.append(Forecast(**{n: rows[n].to_numpy() for n in POINT_FIELDS}))
        out[level] = figures(actual, forecasts) | {"series": len(actual), "model": run.summary[level]["model"]}
    return out


def published_print(*, shape: str, levels: dict[str, dict], floor: float) -> None:
    print(f"\n== {shape}: the published forecast on the {UNSEEN_DAYS} days after the history (never seen, not even by")
    print("   the backtest calibration); median point, calibrated intervals; floor is the store-items' on these days")
    print(f"{'level':<12}{'series':>8}{'model':>16}{'SMAPE':>8}{'cov80':>8}{'cov95':>8}")
    for level, f in levels.items():
        print(
            f"{level:<12}{f['series']:>8}{f['model']:>16}{f['smape']:>8.2f}{f['coverage_80']:>8.1f}{f['coverage_95']:>8.1f}"
        )
    print(f"{'noise floor':<12}{'':>8}{'':>16}{floor:>8.2f}")


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the pool's workers, once shut down)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def refit_timed(*, workers: int) -> tuple[float, float, ForecastRun]:
    """Wall and CPU seconds of a cold refit, and the run. On a shared machine the CPU seconds are the fairer figure."""
    began, cpu = time.perf_counter(), cpu_seconds()
    run = services.forecast_refit(days=UNSEEN_DAYS, workers=workers, reselect_orders=True)
    return time.perf_counter() - began, cpu_seconds() - cpu, run


def figures(actual: list[np.ndarray], forecasts: list[Forecast]) -> dict:
    inside: dict[int, list[np.ndarray]] = {n: [] for n in (80, 95)}
    scores = []
    for a, f in zip(actual, forecasts, strict=True):
        scores.append(smape(a, f.yhat))
        for n in (80, 95):
            inside[n].append((a >= getattr(f, f"lower_{n}")) & (a <= getattr(f, f"upper_{n}")))
    return {
        "smape": float(np.mean(scores)),
        "coverage_80": 100 * float(np.concatenate(inside[80]).mean()),
        "coverage_95": 100 * float(np.concatenate(inside[95]).mean()),
    }


def store_item_backtests(run) -> tuple[list, list[np.ndarray], dict[str, list[Forecast]]]:
    keys, actual = [], []
    by_candidate: dict[str, list[Forecast]] = {name: [] for name in CANDIDATES}
    for series in SeriesForecast.objects.filter(run=run, level=Level.STORE_ITEM).order_by("store_id", "item_id"):
        keys.append((series.store_id, series.item_id))
        actual.append(np.asarray(series.backtest["actual"]))
        candidates = services._candidates(series.backtest)
        for name in CANDIDATES:
            by_candidate[name].append(count_bands(candidates[name]))
    return keys, actual, by_candidate


def auto_arima_reference(*, run, count: int, seed: int = 7) -> tuple[dict, float]:
    """auto_arima(m=7) on `count` sampled store-items: fit on all but the holdout, forecast it."""
    import pmdarima as pm

    from forecasting.selectors import SeriesKey, series_history

    keys = list(SeriesForecast.objects.filter(run=run, level=Level.STORE_ITEM).values_list("store_id", "item_id"))
    rng = np.random.default_rng(seed)
    chosen = [
        SeriesKey(Level.STORE_ITEM, *keys[i]) for i in rng.choice(len(keys), size=min(count, len(keys)), replace=False)
    ]
    histories = series_history(keys=chosen, start=run.training_start, end=run.training_end)
    holdout = run.holdout_days
    actual, forecasts, seconds = [], [], []
    for key in chosen:
        y = histories[key]
        began = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = pm.auto_arima(y[:-holdout], m=7, seasonal=True, suppress_warnings=True, error_action="ignore")
            point, c80 = model.predict(n_periods=holdout, return_conf_int=True, alpha=0.2)
            _, c95 = model.predict(n_periods=holdout, return_conf_int=True, alpha=0.05)
        seconds.append(time.perf_counter() - began)
        actual.append(y[-holdout:])
        forecasts.append(
            Forecast(
                yhat=np.maximum(point, 0),
                lower_80=c80[:, 0],
                upper_80=c80[:, 1],
                lower_95=c95[:, 0],
                upper_95=c95[:, 1],
            )
        )
    return figures(actual, forecasts), float(np.mean(seconds)) * len(keys)


STATSFORECAST_SCRIPT = r"""
import json, sys, time, numpy as np, pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, MSTL
data = np.load(sys.argv[1])
train, horizon = data["train"], int(data["horizon"])
days = pd.date_range("2000-01-01", periods=train.shape[1], freq="D")
frame = pd.DataFrame({"unique_id": np.repeat(np.arange(train.shape[0]), train.shape[1]),
                      "ds": np.tile(days, train.shape[0]), "y": train.ravel()})
out = {}
for name, model in (("AutoETS(7)", AutoETS(season_length=7)),
                    ("MSTL(7, 365)", MSTL(season_length=[7, 365], trend_forecaster=AutoETS(model="ZZN")))):
    began = time.perf_counter()
    fc = StatsForecast(models=[model], freq="D", n_jobs=1).forecast(df=frame, h=horizon, level=[80, 95])
    seconds = time.perf_counter() - began
    column = [c for c in fc.columns if c not in ("unique_id", "ds") and "-lo-" not in c and "-hi-" not in c][0]
    fc = fc.sort_values(["unique_id", "ds"])
    get = lambda c: fc[c].to_numpy().reshape(train.shape[0], horizon).tolist()
    out[name] = {"seconds": seconds, "yhat": get(column), "lower_80": get(f"{column}-lo-80"),
                 "upper_80": get(f"{column}-hi-80"), "lower_95": get(f"{column}-lo-95"), "upper_95": get(f"{column}-hi-95")}
print(json.dumps(out))
"""


def statsforecast_reference(
    *, python: str, run, actual: list[np.ndarray], keys: list, sample: int, by_candidate: dict, chosen: str
) -> dict[str, tuple[dict, float | None]]:
    """statsforecast's AutoETS and MSTL on the store-items (all, or `sample` of them drawn at random: MSTL
    takes seconds a series), and the product on the same series, so the rows compare like with like.
    Wall times are extrapolated to every store-item."""
    from forecasting.selectors import SeriesKey, series_history

    holdout = run.holdout_days
    everyone = len(keys)
    chosen_rows = (
        sorted(np.random.default_rng(11).choice(everyone, size=sample, replace=False))
        if 0 < sample < everyone
        else range(everyone)
    )
    keys, actual = [keys[i] for i in chosen_rows], [actual[i] for i in chosen_rows]
    out: dict[str, tuple[dict, float | None]] = {}
    if len(keys) < everyone:
        product = [by_candidate[chosen][i] for i in chosen_rows]
        out[f"the product on the same {len(keys)} series"] = (figures(actual, product), None)
    wanted = [SeriesKey(Level.STORE_ITEM, s, i) for s, i in keys]
    histories = series_history(keys=wanted, start=run.training_start, end=run.training_end)
    train = np.stack([histories[k][:-holdout] for k in wanted]).astype(float)
    with tempfile.TemporaryDirectory() as workdir:
        data, script = Path(workdir) / "series.npz", Path(workdir) / "sf.py"
        np.savez(data, train=train, horizon=holdout)
        script.write_text(STATSFORECAST_SCRIPT)
        env = os.environ | {"OMP_NUM_THREADS": "1"}
        done = subprocess.run([python, str(script), str(data)], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        print(f"  statsforecast failed: {done.stderr.strip().splitlines()[-1:]}")
        return {}
    for name, result in json.loads(done.stdout.strip().splitlines()[-1]).items():
        forecasts = [
            Forecast(
                yhat=np.maximum(np.asarray(result["yhat"][i]), 0),
                **{b: np.asarray(result[b][i]) for b in ("lower_80", "upper_80", "lower_95", "upper_95")},
            )
            for i in range(len(keys))
        ]
        label = f"{name}, {len(keys)} series (time extrapolated)" if len(keys) < everyone else name
        out[label] = (figures(actual, forecasts), result["seconds"] * everyone / len(keys))
    return out


def table_print(*, shape: str, rows: list[tuple[str, dict, float | None]], floor: float, series: int) -> None:
    print(f"\n== {shape}: store-item level, {series} series, the backtest holdout (the history's last 90 days)")
    print(f"   the floor is the store-items' on the {UNSEEN_DAYS} days after the history (the generator's last days)")
    print(f"{'forecast':<46}{'SMAPE':>8}{'cov80':>8}{'cov95':>8}{'wall s':>9}{'/ floor':>9}")
    for name, f, seconds in rows:
        wall = f"{seconds:>9.1f}" if seconds is not None else f"{'':>9}"
        cov80 = f"{f['coverage_80']:>8.1f}" if "coverage_80" in f else f"{'':>8}"
        cov95 = f"{f['coverage_95']:>8.1f}" if "coverage_95" in f else f"{'':>8}"
        print(f"{name:<46}{f['smape']:>8.2f}{cov80}{cov95}{wall}{f['smape'] / floor:>9.2f}")


def shape_bench(*, shape: str, seed: int, args, workdir: Path, window: int = 0) -> dict:
    summary, unseen = shape_load(
        shape=shape,
        stores=args.stores,
        items=args.items,
        years=args.years,
        workdir=workdir,
        seed=seed,
        back=window * UNSEEN_DAYS,
        prices=item_prices(items=args.items) if args.units == "dollars" else None,
    )
    shape = f"{shape}, seed {seed}" if len(args.seeds) > 1 else shape
    shape = f"{shape}, window {window} ({window * UNSEEN_DAYS} days back)" if args.windows > 1 else shape
    print(f"\n[{shape}] {summary.rows:,} rows; noise floor {summary.noise_floor_smape:.2f} ({summary.floor_point})")
    seconds, cpu, run = refit_timed(workers=args.workers)
    print(
        f"[{shape}] full refit with backtests: {seconds:.1f} s wall, {cpu:.1f} CPU s "
        f"({cpu / run.series_count:.3f} CPU s a series), {run.series_count} series, {args.workers} workers; "
        f"finishing step {run.parameters.get('finish_seconds', float('nan')):.1f} s"
    )
    keys, actual, by_candidate = store_item_backtests(run)
    chosen = run.summary[Level.STORE_ITEM]["model"]
    product = figures(actual, by_candidate[chosen])
    rows: list[tuple[str, dict, float | None]] = [(f"the product (published: {chosen})", product, seconds)]
    labels = {
        "calendar": "  own calendar, partially pooled (candidate)",
        "pooled": "  company-wide calendar (previous model)",
        "seasonal_naive": "  seasonal naive",
        "last_year": "  same day last year",
    }
    for name in CANDIDATES:
        rows.append((labels[name], figures(actual, by_candidate[name]), None))
    if args.statsforecast_python:
        for name, (f, sf_seconds) in statsforecast_reference(
            python=args.statsforecast_python,
            run=run,
            actual=actual,
            keys=keys,
            sample=args.statsforecast_series,
            by_candidate=by_candidate,
            chosen=chosen,
        ).items():
            rows.append((f"statsforecast {name}", f, sf_seconds))
    if args.reference_series:
        f, extrapolated = auto_arima_reference(run=run, count=args.reference_series)
        rows.append((f"auto_arima(m=7), {args.reference_series} series (time extrapolated)", f, extrapolated))
    rows.append(("noise floor (true rates)", {"smape": summary.noise_floor_smape}, None))
    table_print(shape=shape, rows=rows, floor=summary.noise_floor_smape, series=len(keys))
    print("model choice per level: " + "; ".join(f"{lvl} {f['model']}" for lvl, f in run.summary.items()))
    print(f"store-item reason: {run.summary[Level.STORE_ITEM]['model_reason']}")
    calibration = run.parameters.get("calibration", {})
    print(
        "calibrated interval content: "
        + ", ".join(f"{lvl} {c['80']:.3f}/{c['95']:.3f}" for lvl, c in calibration.items())
    )
    published = published_unseen(run=run, unseen=unseen)
    published_print(shape=shape, levels=published, floor=summary.noise_floor_smape)
    return {
        "shape": shape,
        "seconds": seconds,
        "cpu": cpu,
        "run": run,
        "product": product,
        "published": published,
        "floor": summary.noise_floor_smape,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default="tidy,retail,slow")
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--reference-series", type=int, default=3)
    parser.add_argument("--speedup", action="store_true")
    parser.add_argument("--units", choices=["units", "dollars"], default="units")
    parser.add_argument("--statsforecast-python")
    parser.add_argument(
        "--statsforecast-series",
        type=int,
        default=0,
        help="fit statsforecast on this many sampled store-items (0: all)",
    )
    parser.add_argument(
        "--windows",
        type=int,
        default=1,
        help="backtest windows per sample: the history ends yesterday, 90 days earlier, ...; coverage is pooled "
        "over them (a sum's error is dominated by level shifts that one window shows once)",
    )
    parser.add_argument(
        "--seeds",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[42],
        help="generator seeds, comma-separated: each shape is benchmarked on a sample per seed, and the goals are "
        "checked on the figures pooled over them (one series' coverage over 90 days is a single draw)",
    )
    args = parser.parse_args()
    if args.units == "dollars":
        if args.workers != 1:
            parser.error("--units dollars patches the history reader in this process: give --workers 1")
        takings_patch(prices=item_prices(items=args.items))
    print(f"{os.cpu_count()} cores, {args.workers} worker processes; the database's sales history is REPLACED")
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for shape in args.shapes.split(","):
            for seed in args.seeds:
                for window in range(args.windows):
                    result = shape_bench(shape=shape, seed=seed, args=args, workdir=Path(workdir), window=window)
                    results.append(result | {"kind": shape})
        if args.speedup and results:
            first = results[0]
            shape_load(
                shape=first["kind"],
                stores=args.stores,
                items=args.items,
                years=args.years,
                workdir=Path(workdir),
                seed=args.seeds[0],
            )
            load_before = os.getloadavg()
            one_seconds, _cpu, run = refit_timed(workers=1)
            # The N-process refit again, right after the 1-process one: the same data and nearly the same
            # load from the machine's other users (the first shape's refit ran minutes earlier).
            many_seconds, _cpu, _run = refit_timed(workers=args.workers)
            load_after = os.getloadavg()
            series = run.series_count
            per_process = series / one_seconds
            speedup = one_seconds / many_seconds
            print(f"\n== scale ({first['shape']} shape, {series} series, full refit with backtests)")
            print(
                f"load average (1/5/15 min) before {load_before[0]:.1f}/{load_before[1]:.1f}/{load_before[2]:.1f}, "
                f"after {load_after[0]:.1f}/{load_after[1]:.1f}/{load_after[2]:.1f} on {os.cpu_count()} cores"
            )
            print(f"1 worker process:  {one_seconds:.1f} s, {per_process:.2f} series/s per process")
            print(f"{args.workers} worker processes: {many_seconds:.1f} s, speedup {speedup:.2f}x")
            projection = M5_SERIES / (series / many_seconds)
            print(
                f"projection for {M5_SERIES:,} series on {args.workers} processes: {projection / 60:.0f} min "
                f"({M5_SERIES / per_process / 3600:.1f} process-hours; add forecast workers to divide it)"
            )
    print()
    ok = True
    for kind in dict.fromkeys(r["kind"] for r in results):
        runs = [r for r in results if r["kind"] == kind]
        pooled = (
            f" (pooled over seeds {', '.join(map(str, args.seeds))} x {args.windows} windows)" if len(runs) > 1 else ""
        )
        smape = float(np.mean([r["published"][Level.STORE_ITEM]["smape"] for r in runs]))
        floor = float(np.mean([r["floor"] for r in runs]))
        within = smape <= FLOOR_GOAL * floor
        ok &= within
        print(
            f"{'ok    ' if within else 'MISSED'} {kind}: published store-item SMAPE {smape:.2f} on the unseen days, "
            f"within 10 % of the floor {floor:.2f}{pooled}"
        )
        for level in runs[0]["published"]:
            # Each seed's coverage is over the same number of series-days: the mean is the pooled coverage.
            cov80 = float(np.mean([r["published"][level]["coverage_80"] for r in runs]))
            cov95 = float(np.mean([r["published"][level]["coverage_95"] for r in runs]))
            each = (
                " ["
                + ", ".join(
                    f"{r['published'][level]['coverage_80']:.1f}/{r['published'][level]['coverage_95']:.1f}"
                    for r in runs
                )
                + "]"
                if len(runs) > 1
                else ""
            )
            covered = 75 <= cov80 <= 85 and 92 <= cov95 <= 98
            ok &= covered
            print(
                f"{'ok    ' if covered else 'MISSED'} {kind}: {level} published coverage "
                f"{cov80:.1f} / {cov95:.1f} (goal 75-85 / 92-98){pooled}{each}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
