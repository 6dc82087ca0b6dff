"""Writes of forecasts: start a run, fit chunks of series, reconcile and publish.

One code path for both ways of running a refit:
- Celery (`forecasting.tasks.forecast_refit_all`): `forecast_run_start` in the
  task, a chord of `forecast_chunk_fit` tasks (one per chunk of series ids) and
  `forecast_run_finish` as its callback;
- in-process (`manage.py forecast`, bench): `forecast_refit`, which calls the
  same three functions, the chunks in a local process pool.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import date, datetime, timedelta
from multiprocessing import get_context

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from forecasting import modelling, pool
from forecasting.models import ForecastPoint, ForecastRun, Level, SeriesForecast
from forecasting.selectors import SeriesKey, forecast_run_latest, history_range, series_history, series_keys_all

logger = logging.getLogger(__name__)

RUNS_KEPT = 5
CHUNK_SIZE = 25
HOLDOUT_DAYS = 90
# The residual ARIMA order of a series is re-chosen from the grid once a week (on a day of its
# own, see _order_due), not every night.
ORDER_RESELECT_DAYS = 7
# A run still "running" after this long died with its worker; it is marked failed.
RUNNING_TIMEOUT = timedelta(hours=6)
# Calibration widens a level's intervals (in log1p space) by at most this factor.
MAX_CALIBRATION = 3.0


class ForecastError(Exception):
    """A refit that cannot start or finish (no history, unknown scope, missing series)."""


class RefitRunning(ForecastError):
    """Another refit is running; only one runs at a time."""


SUPERSEDED = "superseded: the sales history was loaded again while it ran"


# ---------------------------------------------------------------- start


def forecast_run_start(
    *,
    days: int | None = None,
    store_ids: list[int] | None = None,
    item_ids: list[int] | None = None,
    reselect_orders: bool = False,
    supersede_running: bool = False,
) -> tuple[ForecastRun, list[list[list]]]:
    """Create a running ForecastRun and split its series into chunks of plain keys.

    Without stores/items every series is refitted. With them only the series that
    involve them are refitted (the store, the item, their store-items) and the
    others are carried over from the latest complete run, which must have the same
    training range; the whole hierarchy is reconciled again either way.
    `reselect_orders` chooses every refitted series' ARIMA order from the grid again
    (otherwise an order is reused for ORDER_RESELECT_DAYS).
    `supersede_running` fails a running refit first: after a load, its chunks would read the
    new history against the old training range and publish a mix (the load's follow-up sets it).
    Otherwise a running refit makes this raise RefitRunning."""
    horizon = days or settings.FORECAST_DAYS
    if supersede_running:
        superseded = ForecastRun.objects.filter(status=ForecastRun.Status.RUNNING).update(
            status=ForecastRun.Status.FAILED, finished_at=timezone.now(), error=SUPERSEDED
        )
        if superseded:
            logger.warning("forecast run superseded by a new load runs=%s", superseded)
    ForecastRun.objects.filter(
        status=ForecastRun.Status.RUNNING, started_at__lt=timezone.now() - RUNNING_TIMEOUT
    ).update(status=ForecastRun.Status.FAILED, finished_at=timezone.now(), error="timed out while running")
    bounds = history_range()
    if bounds is None:
        raise ForecastError("there is no sales history to forecast from (load one with `manage.py load_train`)")
    start, end = bounds
    keys = series_keys_all()
    partial = bool(store_ids or item_ids)
    previous = forecast_run_latest()
    if partial:
        known_stores = {k.store for k in keys if k.level == Level.STORE}
        known_items = {k.item for k in keys if k.level == Level.ITEM}
        for store in store_ids or []:
            if store not in known_stores:
                raise ForecastError(f"unknown store {store} (no sales history for it)")
        for item in item_ids or []:
            if item not in known_items:
                raise ForecastError(f"unknown item {item} (no sales history for it)")
        if previous is None or previous.training_end != end or previous.horizon_days != horizon:
            raise ForecastError(
                "a refit of some series needs a complete run over the same data to keep the others from "
                f"(history ends {end}, horizon {horizon} days): run a full refit first"
            )
        # Series the previous run does not have (a store or item whose first sales came after it)
        # have nothing to carry over: they are fitted too, or the run would miss them.
        carried_keys = {
            SeriesKey(level, store, item)
            for level, store, item in SeriesForecast.objects.filter(run=previous).values_list(
                "level", "store_id", "item_id"
            )
        }
        refit = [k for k in keys if _in_scope(k, store_ids=store_ids, item_ids=item_ids) or k not in carried_keys]
    else:
        refit = keys

    history_days = (end - start).days + 1
    holdout = min(HOLDOUT_DAYS, history_days // 4)
    if holdout < 7:
        holdout = 0
    total = series_history(keys=[SeriesKey(Level.TOTAL)], start=start, end=end)[SeriesKey(Level.TOTAL)]
    all_days = pd.date_range(start, end, freq="D")
    calendar = modelling.calendar_fit(days=all_days, total=total)
    parameters = {
        "calendar": calendar.as_dict(),
        "exogenous": calendar.exogenous(),
        "order_grid": [list(o) for o in modelling.ORDER_GRID],
        "arima_window_days": modelling.ARIMA_WINDOW_DAYS,
        "scale_window_days": modelling.SCALE_WINDOW_DAYS,
        "order_reselect_days": ORDER_RESELECT_DAYS,
        "scope": {"stores": store_ids or None, "items": item_ids or None},
        "refit_series": len(refit),
        "reselect_orders": reselect_orders,
    }
    if holdout:
        backtest_calendar = modelling.calendar_fit(days=all_days[:-holdout], total=total[:-holdout])
        parameters["backtest_calendar"] = backtest_calendar.as_dict()
    try:
        with transaction.atomic():
            run = ForecastRun.objects.create(
                started_at=timezone.now(),
                horizon_days=horizon,
                training_start=start,
                training_end=end,
                holdout_days=holdout,
                parameters=parameters,
                series_count=len(keys),
            )
    except IntegrityError:
        running = ForecastRun.objects.filter(status=ForecastRun.Status.RUNNING).first()
        raise RefitRunning(
            f"a refit is already running (run {running.pk if running else '?'}, started "
            f"{running.started_at.isoformat(timespec='seconds') if running else '?'}): wait for it to finish"
        ) from None
    if partial:
        refit_set = set(refit)
        carried = []
        for series in SeriesForecast.objects.filter(run=previous):
            key = SeriesKey(series.level, series.store_id, series.item_id)
            if key not in refit_set:
                series.pk, series.run = None, run
                carried.append(series)
        SeriesForecast.objects.bulk_create(carried, batch_size=500)
    chunks = [[k.as_list() for k in refit[i : i + CHUNK_SIZE]] for i in range(0, len(refit), CHUNK_SIZE)]
    logger.info("forecast_run_start run=%s series=%s refit=%s chunks=%s holdout=%s", run.pk, len(keys), len(refit),
                len(chunks), holdout)  # fmt: skip
    return run, chunks


def _in_scope(key: SeriesKey, *, store_ids: list[int] | None, item_ids: list[int] | None) -> bool:
    stores, items = set(store_ids or []), set(item_ids or [])
    if key.level == Level.STORE_ITEM:
        return (not stores or key.store in stores) and (not items or key.item in items)
    if key.level == Level.STORE:
        return key.store in stores and not items
    if key.level == Level.ITEM:
        return key.item in items and not stores
    return False


# ---------------------------------------------------------------- chunks


def forecast_chunk_fit(*, run_id: int, keys: list[list], run_started: str | None = None) -> int:
    """Fit (backtest, then final) each series of a chunk and store its model. Idempotent:
    a retried chunk replaces its rows. A series that fails falls back to seasonal
    naive inside modelling.series_fit; this never raises for one bad series.
    `run_started` (the run's started_at, ISO 8601) is given by queued tasks: see `_run_of_task`.
    Returns the number of series stored (0 for a stale task)."""
    from threadpoolctl import threadpool_limits

    run = _run_of_task(run_id=run_id, run_started=run_started, step="forecast_chunk_fit")
    if run is None:
        return 0
    if run.status != ForecastRun.Status.RUNNING:
        logger.warning("forecast_chunk_fit run=%s status=%s skipped", run_id, run.status)
        return 0
    series_keys = [SeriesKey.from_list(k) for k in keys]
    start, end, holdout = run.training_start, run.training_end, run.holdout_days
    histories = series_history(keys=series_keys, start=start, end=end)
    days = pd.date_range(start, end, freq="D")
    calendar = modelling.Calendar.from_dict(run.parameters["calendar"])
    backtest_calendar = modelling.Calendar.from_dict(run.parameters["backtest_calendar"]) if holdout else None
    previous = {} if run.parameters.get("reselect_orders") else _previous_orders(keys=series_keys)
    today = timezone.localdate()
    rows = []
    # Chunks run side by side (worker processes, local pool): one BLAS/OpenMP thread each.
    with threadpool_limits(limits=1):
        for key in series_keys:
            began = time.perf_counter()
            y = histories[key]
            order, selected_on = previous.get(key, (None, None))
            if _order_due(key=key, selected_on=selected_on, today=today):
                order, selected_on = None, None
            backtest = {}
            if holdout:
                bt = modelling.series_fit(y=y[:-holdout], days=days[:-holdout], calendar=backtest_calendar,
                                          horizon=holdout, order=order)  # fmt: skip
                naive = modelling.seasonal_naive(y=y[:-holdout], horizon=holdout)
                if order is None and bt.order is not None:
                    order, selected_on = bt.order, today
                backtest = {"actual": [float(v) for v in y[-holdout:]], "own": bt.forecast.as_dict(),
                            "naive": naive.as_dict(),
                            "fallback": bt.fallback}  # fmt: skip
            fit = modelling.series_fit(y=y, days=days, calendar=calendar, horizon=run.horizon_days, order=order)
            if fit.fallback:
                logger.warning("forecast fallback run=%s series=%r reason=%r", run_id, str(key), fit.reason)
            elif order is None:
                selected_on = today
            rows.append(
                SeriesForecast(
                    run=run,
                    level=key.level,
                    store_id=key.store,
                    item_id=key.item,
                    order=list(fit.order) if fit.order else None,
                    order_selected_on=selected_on if fit.order else None,
                    fallback=fit.fallback,
                    fallback_reason=fit.reason,
                    info=fit.info | {"fit_seconds": round(time.perf_counter() - began, 3)},
                    own=fit.forecast.as_dict(),
                    backtest=backtest,
                    fitted_at=timezone.now(),
                )
            )
    with transaction.atomic():
        for key in series_keys:
            SeriesForecast.objects.filter(run=run, level=key.level, store_id=key.store, item_id=key.item).delete()
        SeriesForecast.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _order_due(*, key: SeriesKey, selected_on: date | None, today: date) -> bool:
    """Whether a series' ARIMA order is chosen again today. Each series has its own
    weekday for that (a stable hash of its key), so a nightly run re-chooses about a
    seventh of the orders instead of all of them every seventh night."""
    if selected_on is None:
        return True
    age = (today - selected_on).days
    weekday = (Level.values.index(key.level) * 7919 + (key.store or 0) * 31 + (key.item or 0)) % ORDER_RESELECT_DAYS
    return age >= 2 * ORDER_RESELECT_DAYS or (age >= 1 and today.toordinal() % ORDER_RESELECT_DAYS == weekday)


def _previous_orders(*, keys: list[SeriesKey]) -> dict[SeriesKey, tuple[tuple | None, date | None]]:
    """Residual ARIMA orders of the latest complete run, to reuse while they are fresh."""
    previous = forecast_run_latest()
    if previous is None:
        return {}
    wanted = set(keys)
    out = {}
    for level, store, item, order, selected_on in SeriesForecast.objects.filter(
        run=previous, fallback=False, order__isnull=False
    ).values_list("level", "store_id", "item_id", "order", "order_selected_on"):
        key = SeriesKey(level, store, item)
        if key in wanted:
            out[key] = (tuple(order), selected_on)
    return out


# ---------------------------------------------------------------- finish


def forecast_run_finish(*, run_id: int, run_started: str | None = None) -> ForecastRun | None:
    """Reconcile the run, score it, write its points and mark it complete, in one
    transaction (so readers switch from the previous run to this one at once);
    then drop runs beyond the last RUNS_KEPT. None for a stale task (`_run_of_task`)."""
    run = _run_of_task(run_id=run_id, run_started=run_started, step="forecast_run_finish")
    if run is None:
        return None
    if run.status != ForecastRun.Status.RUNNING:
        return run
    series = list(SeriesForecast.objects.filter(run=run).defer("info"))
    expected = run.series_count
    if len(series) < expected:
        missing = expected - len(series)
        forecast_run_fail(run_id=run_id, error=f"{missing} of {expected} series were not fitted")
        raise ForecastError(f"run {run_id}: {missing} of {expected} series were not fitted")

    by_key = {SeriesKey(s.level, s.store_id, s.item_id): s for s in series}
    final = {key: modelling.Forecast.from_dict(s.own) for key, s in by_key.items()}
    final = _reconciled(final)
    summary, calibration = {}, {}
    if run.holdout_days:
        backtest_own = {key: modelling.Forecast.from_dict(s.backtest["own"]) for key, s in by_key.items()}
        backtest = _reconciled(backtest_own)
        per_level: dict[str, list[dict]] = {}
        for key, s in by_key.items():
            actual = np.asarray(s.backtest["actual"])
            s.accuracy = modelling.accuracy_compute(
                actual=actual, forecast=backtest[key], naive=modelling.Forecast.from_dict(s.backtest["naive"])
            )
            per_level.setdefault(key.level, []).append(s.accuracy)
        for level, figures in per_level.items():
            summary[level] = {name: float(np.mean([f[name] for f in figures])) for name in figures[0]}
            summary[level]["series"] = len(figures)
            summary[level]["fallbacks"] = sum(1 for key, s in by_key.items() if key.level == level and s.fallback)
            level_keys = [key for key in by_key if key.level == level]
            calibration[level] = {
                str(nominal): _calibration_factor(
                    actual=[np.asarray(by_key[key].backtest["actual"]) for key in level_keys],
                    forecasts=[backtest[key] for key in level_keys],
                    nominal=nominal,
                )
                for nominal in (80, 95)
            }
        final = {key: _calibrated(forecast, calibration.get(key.level)) for key, forecast in final.items()}

    dates = pd.date_range(run.training_end + timedelta(days=1), periods=run.horizon_days, freq="D").date
    points = []
    for key, s in by_key.items():
        forecast = final[key]
        for i, day in enumerate(dates):
            values = [round(float(getattr(forecast, name)[i]), 4) for name in modelling.POINT_FIELDS]
            yhat, lo80, hi80, lo95, hi95 = values
            points.append(ForecastPoint(series=s, date=day, yhat=yhat, lower_80=min(lo80, yhat), upper_80=max(hi80, yhat),
                                        lower_95=min(lo95, lo80, yhat), upper_95=max(hi95, hi80, yhat)))  # fmt: skip
    with transaction.atomic():
        locked = ForecastRun.objects.select_for_update().get(pk=run_id)
        if locked.status != ForecastRun.Status.RUNNING:
            return locked
        ForecastPoint.objects.filter(series__run=run).delete()
        ForecastPoint.objects.bulk_create(points, batch_size=2000)
        SeriesForecast.objects.bulk_update(series, ["accuracy"], batch_size=500)
        run.summary = summary
        run.parameters = run.parameters | {"calibration": calibration}
        run.fallback_count = sum(1 for s in series if s.fallback)
        run.status = ForecastRun.Status.COMPLETE
        run.finished_at = timezone.now()
        run.save(update_fields=["summary", "parameters", "fallback_count", "status", "finished_at"])
    forecast_runs_prune()
    logger.info("forecast_run_finish run=%s series=%s fallbacks=%s", run.pk, len(series), run.fallback_count)
    return run


def _reconciled(forecasts: dict[SeriesKey, modelling.Forecast]) -> dict[SeriesKey, modelling.Forecast]:
    """Bottom-up: store-items keep their forecast; stores, items and the total get the sum of
    their store-items as the point and their own model's relative interval width."""
    bottom = {key: f for key, f in forecasts.items() if key.level == Level.STORE_ITEM}
    if not bottom:
        return forecasts
    sums: dict[SeriesKey, np.ndarray] = {}
    for key, forecast in bottom.items():
        for parent in (
            SeriesKey(Level.TOTAL),
            SeriesKey(Level.STORE, key.store, None),
            SeriesKey(Level.ITEM, None, key.item),
        ):
            sums[parent] = sums.get(parent, 0) + forecast.yhat
    out = dict(forecasts)
    for key, forecast in forecasts.items():
        if key.level != Level.STORE_ITEM and key in sums:
            out[key] = modelling.reconcile(own=forecast, bottom_up_yhat=sums[key])
    return out


def _widened(forecast: modelling.Forecast, *, nominal: int, factor: float) -> tuple[np.ndarray, np.ndarray]:
    centre = np.log1p(forecast.yhat)
    lower = np.log1p(getattr(forecast, f"lower_{nominal}"))
    upper = np.log1p(getattr(forecast, f"upper_{nominal}"))
    return np.maximum(np.expm1(centre - factor * (centre - lower)), 0), np.expm1(centre + factor * (upper - centre))


def _calibration_factor(*, actual: list[np.ndarray], forecasts: list[modelling.Forecast], nominal: int) -> float:
    """Smallest widening (>= 1, in log1p space) of a level's backtest intervals that reaches
    the nominal coverage over all its series and holdout days. Intervals are only widened."""
    actual_all = np.concatenate(actual)

    def coverage(factor: float) -> float:
        inside = []
        for a, f in zip(actual, forecasts, strict=True):
            lower, upper = _widened(f, nominal=nominal, factor=factor)
            inside.append((a >= lower) & (a <= upper))
        return 100 * float(np.concatenate(inside).mean()) if len(actual_all) else 100.0

    if coverage(1.0) >= nominal:
        return 1.0
    low, high = 1.0, MAX_CALIBRATION
    if coverage(high) < nominal:
        return high
    for _ in range(12):
        middle = (low + high) / 2
        low, high = (middle, high) if coverage(middle) < nominal else (low, middle)
    return round(high, 3)


def _calibrated(forecast: modelling.Forecast, factors: dict | None) -> modelling.Forecast:
    if not factors:
        return forecast
    lo80, hi80 = _widened(forecast, nominal=80, factor=factors["80"])
    lo95, hi95 = _widened(forecast, nominal=95, factor=factors["95"])
    return modelling.Forecast(yhat=forecast.yhat, lower_80=lo80, upper_80=hi80,
                              lower_95=np.minimum(lo95, lo80), upper_95=np.maximum(hi95, hi80))  # fmt: skip


def forecast_run_fail(*, run_id: int, error: str, run_started: str | None = None) -> None:
    if _run_of_task(run_id=run_id, run_started=run_started, step="forecast_run_fail") is None:
        return
    ForecastRun.objects.filter(pk=run_id, status=ForecastRun.Status.RUNNING).update(
        status=ForecastRun.Status.FAILED, finished_at=timezone.now(), error=error[:2000]
    )
    logger.error("forecast run failed run=%s error=%r", run_id, error[:200])


def _run_of_task(*, run_id: int, run_started: str | None, step: str) -> ForecastRun | None:
    """The run a queued task was sent for, or None (one warning) when the task is stale: its run no longer
    exists, or the id now belongs to another run (the database was recreated under the same Redis, and ids
    start again). Tasks carry the run's `started_at` for that second case; direct callers pass None."""
    run = ForecastRun.objects.filter(pk=run_id).first()
    if run is not None and (run_started is None or run.started_at == datetime.fromisoformat(run_started)):
        return run
    logger.warning(
        "%s run=%s dropped: a stale task, that run no longer exists (the database was reset since it was queued)",
        step, run_id,
    )  # fmt: skip
    return None


def forecast_runs_prune(*, keep: int = RUNS_KEPT) -> int:
    """Delete all but the newest `keep` complete runs, and failed runs older than those. Returns runs deleted."""
    kept = list(
        ForecastRun.objects.filter(status=ForecastRun.Status.COMPLETE)
        .order_by("-finished_at", "-id")
        .values_list("pk", flat=True)[:keep]
    )
    if len(kept) < keep:
        return 0
    oldest_kept = ForecastRun.objects.get(pk=kept[-1]).started_at
    old_complete = ForecastRun.objects.filter(status=ForecastRun.Status.COMPLETE).exclude(pk__in=kept)
    old_failed = ForecastRun.objects.filter(status=ForecastRun.Status.FAILED, started_at__lt=oldest_kept)
    label = ForecastRun._meta.label
    return old_complete.delete()[1].get(label, 0) + old_failed.delete()[1].get(label, 0)


# ---------------------------------------------------------------- in-process


def forecast_refit(
    *,
    days: int | None = None,
    store_ids: list[int] | None = None,
    item_ids: list[int] | None = None,
    workers: int = 1,
    reselect_orders: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ForecastRun:
    """Refit in this process (chunks in a local pool of `workers` processes when > 1).

    `progress(done, total)` is called after each chunk with series counts."""
    run, chunks = forecast_run_start(days=days, store_ids=store_ids, item_ids=item_ids, reselect_orders=reselect_orders)
    total = sum(len(c) for c in chunks)
    done = 0
    try:
        if workers > 1 and len(chunks) > 1:
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=get_context("spawn"),
                initializer=pool.worker_init,
                initargs=(connections["default"].settings_dict["NAME"],),
            ) as executor:
                futures = {executor.submit(pool.chunk_fit, run.pk, chunk): len(chunk) for chunk in chunks}
                for future in as_completed(futures):
                    future.result()
                    done += futures[future]
                    if progress:
                        progress(done, total)
        else:
            for chunk in chunks:
                forecast_chunk_fit(run_id=run.pk, keys=chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        return forecast_run_finish(run_id=run.pk)
    except BaseException as exc:
        forecast_run_fail(run_id=run.pk, error=f"{type(exc).__name__}: {exc}")
        raise
