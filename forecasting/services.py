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
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from forecasting import pool
from forecasting.accuracy import SCORE_FIELDS, accuracy_of, candidate_scores, scores_rows
from forecasting.calibration import calibration_content
from forecasting.candidates import CANDIDATES, CandidateFit, candidates_fit, model_choose
from forecasting.counts import CountForecast, count_bands, forecasts_stack, series_kind
from forecasting.level_error import level_variance, level_windows
from forecasting.models import ForecastPoint, ForecastRun, Level, SeriesForecast
from forecasting.pooled_calendar import FOURIER_PERIOD, SCALE_WINDOW_DAYS
from forecasting.reconciliation import bottom_up
from forecasting.residual import ARIMA_WINDOW_DAYS, ORDER_GRID
from forecasting.selectors import (
    SeriesKey,
    forecast_lead_days,
    forecast_run_latest,
    history_range,
    history_step,
    series_history,
    series_keys_all,
)
from forecasting.series_calendar import Design, design_fit, prior_combine, shape_fit
from sales.selectors import stores_items_unknown

logger = logging.getLogger(__name__)

RUNS_KEPT = 5
CHUNK_SIZE = 25
HOLDOUT_DAYS = 90
# The residual ARIMA order of a series is re-chosen from the grid once a week (on a day of its
# own, see _order_due), not every night.
ORDER_RESELECT_DAYS = 7
# A run still "running" after this long died with its worker; it is marked failed.
RUNNING_TIMEOUT = timedelta(hours=6)


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
    _runs_expire(supersede_running=supersede_running)
    bounds = history_range()
    if bounds is None:
        raise ForecastError("there is no sales history to forecast from (load one with `manage.py load_train`)")
    start, end = bounds
    step = history_step(start=start, end=end)
    if step == 1:
        # `days` count from tomorrow: today is fitted too (selectors.forecast_lead_days).
        horizon += forecast_lead_days(end=end)
    else:
        horizon = math.ceil(horizon / step) * step  # whole weeks from the week after the history's last
    keys = series_keys_all()
    previous = forecast_run_latest()
    refit = _refit_keys(keys=keys, store_ids=store_ids, item_ids=item_ids, previous=previous, end=end, horizon=horizon)
    periods = (end - start).days // step + 1
    holdout = min(round(HOLDOUT_DAYS / step), periods // 4)
    if holdout < (7 if step == 1 else 4):
        holdout = 0
    parameters = _designs_fit(keys=keys, start=start, end=end, holdout=holdout, step=step) | {
        "order_grid": [list(o) for o in ORDER_GRID],
        "arima_window_days": ARIMA_WINDOW_DAYS,
        "scale_window_days": SCALE_WINDOW_DAYS,
        "order_reselect_days": ORDER_RESELECT_DAYS,
        "scope": {"stores": store_ids or None, "items": item_ids or None},
        "refit_series": len(refit),
        "reselect_orders": reselect_orders,
    }
    run = _run_create(
        horizon=horizon, start=start, end=end, holdout=holdout * step, parameters=parameters, keys=keys, step=step
    )
    if store_ids or item_ids:
        _series_carry_over(run=run, previous=previous, refit=refit)
    chunks = [[k.as_list() for k in refit[i : i + CHUNK_SIZE]] for i in range(0, len(refit), CHUNK_SIZE)]
    logger.info(
        "forecast_run_start run=%s series=%s refit=%s chunks=%s holdout=%s",
        *(run.pk, len(keys), len(refit), len(chunks), holdout),
    )
    return run, chunks


def _runs_expire(*, supersede_running: bool) -> None:
    """Fail a running refit superseded by a load, and runs that died with their worker."""
    now = timezone.now()
    if supersede_running:
        superseded = ForecastRun.objects.filter(status=ForecastRun.Status.RUNNING).update(
            status=ForecastRun.Status.FAILED, finished_at=now, error=SUPERSEDED
        )
        if superseded:
            logger.warning("forecast run superseded by a new load runs=%s", superseded)
    ForecastRun.objects.filter(status=ForecastRun.Status.RUNNING, started_at__lt=now - RUNNING_TIMEOUT).update(
        status=ForecastRun.Status.FAILED, finished_at=now, error="timed out while running"
    )


def _refit_keys(
    *,
    keys: list[SeriesKey],
    store_ids: list[int] | None,
    item_ids: list[int] | None,
    previous: ForecastRun | None,
    end: date,
    horizon: int,
) -> list[SeriesKey]:
    """The series a run fits: all of them, or for a partial refit those of its stores/items plus
    any the previous run does not have (a store or item newer than it: nothing to carry over)."""
    if not (store_ids or item_ids):
        return keys
    unknown = stores_items_unknown(store_ids=store_ids or [], item_ids=item_ids or [], with_sales=True)
    for store in store_ids or []:
        if store in unknown.stores:
            raise ForecastError(f"unknown store {store} (no sales history for it)")
    for item in item_ids or []:
        if item in unknown.items:
            raise ForecastError(f"unknown item {item} (no sales history for it)")
    if previous is None or previous.training_end != end or previous.horizon_days != horizon:
        raise ForecastError(
            "a refit of some series needs a complete run over the same data to keep the others from "
            f"(history ends {end}, horizon {horizon} days): run a full refit first"
        )
    carried = {
        SeriesKey(level, store, item)
        for level, store, item in SeriesForecast.objects.filter(run=previous).values_list(
            "level", "store_id", "item_id"
        )
    }
    return [k for k in keys if _in_scope(k, store_ids=store_ids, item_ids=item_ids) or k not in carried]


def _designs_fit(*, keys: list[SeriesKey], start: date, end: date, holdout: int, step: int) -> dict:
    """The run's calendar design (yearly harmonics, learnt holidays and closures) and the shapes every
    prior is built from (the total's, each store's, each item's), for the final fit and the backtest.
    `holdout` in observations, `step` days apart."""
    parents = [k for k in keys if k.level != Level.STORE_ITEM]
    histories = {k: y[::step] for k, y in series_history(keys=parents, start=start, end=end).items()}
    all_days = pd.date_range(start, end, freq=f"{step}D")
    parameters: dict[str, Any] = {}
    for name, cut in (("", 0), ("backtest_", holdout)):
        if name and not holdout:
            continue
        days = all_days[: len(all_days) - cut]
        total = histories[SeriesKey(Level.TOTAL)][: len(days)]
        design, total_coef = design_fit(days=days, total=total, country=settings.HOLIDAY_COUNTRY)
        shapes = {_shape_name(SeriesKey(Level.TOTAL)): [float(c) for c in total_coef]}
        for key in parents:
            if key.level != Level.TOTAL:
                coef = shape_fit(y=histories[key][: len(days)], days=days, design=design, prior=total_coef)
                shapes[_shape_name(key)] = [float(c) for c in coef]
        parameters[f"{name}design"] = design.as_dict()
        parameters[f"{name}shapes"] = shapes
    design = Design.from_dict(parameters["design"])
    parameters["exogenous"] = ["weekday", f"fourier({FOURIER_PERIOD}, k={design.fourier_k})", "trend"]
    parameters["exogenous"] += [f"holiday {h}" for h in design.holidays]
    parameters["exogenous"] += [f"holiday {name} ({design.country})" for name, _dates in design.country_holidays]
    return parameters


def _shape_name(key: SeriesKey) -> str:
    names: dict[str, str] = {Level.TOTAL: "total", Level.STORE: f"store {key.store}", Level.ITEM: f"item {key.item}"}
    return names[key.level]


def _run_create(
    *, horizon: int, start: date, end: date, holdout: int, parameters: dict, keys: list[SeriesKey], step: int
) -> ForecastRun:
    try:
        with transaction.atomic():
            return ForecastRun.objects.create(
                started_at=timezone.now(),
                frequency=ForecastRun.Frequency.WEEKLY if step == 7 else ForecastRun.Frequency.DAILY,
                horizon_days=horizon,
                training_start=start,
                training_end=end,
                holdout_days=holdout,
                parameters=parameters,
                series_count=len(keys),
            )
    except IntegrityError:
        running = ForecastRun.objects.filter(status=ForecastRun.Status.RUNNING).first()
        since = running.started_at.isoformat(timespec="seconds") if running else "?"
        raise RefitRunning(
            f"a refit is already running (run {running.pk if running else '?'}, started {since}): wait for it to finish"
        ) from None


def _series_carry_over(*, run: ForecastRun, previous: ForecastRun | None, refit: list[SeriesKey]) -> None:
    """Copy the series a partial refit does not fit from the previous run into this one."""
    refit_set = set(refit)
    carried = []
    for series in SeriesForecast.objects.filter(run=previous):
        key = SeriesKey(series.level, series.store_id, series.item_id)
        if key not in refit_set:
            series.pk, series.run = None, run
            carried.append(series)
    SeriesForecast.objects.bulk_create(carried, batch_size=500)


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
    a retried chunk replaces its rows. A series whose model cannot be fitted keeps its naive
    candidates (candidates_fit); this never raises for one bad series.
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
    histories = {
        key: y[:: run.step_days]
        for key, y in series_history(keys=series_keys, start=run.training_start, end=run.training_end).items()
    }
    fits = _fits_of(run=run)
    previous = {} if run.parameters.get("reselect_orders") else _previous_orders(keys=series_keys)
    today = timezone.localdate()
    # Chunks run side by side (worker processes, local pool): one BLAS/OpenMP thread each.
    with threadpool_limits(limits=1):
        rows = [
            _series_fit(run=run, key=key, y=histories[key], fits=fits, previous=previous.get(key), today=today)
            for key in series_keys
        ]
    with transaction.atomic():
        for key in series_keys:
            SeriesForecast.objects.filter(run=run, level=key.level, store_id=key.store, item_id=key.item).delete()
        SeriesForecast.objects.bulk_create(rows, batch_size=500)
    return len(rows)


@dataclass(frozen=True)
class _FitSpec:
    """One of the two fits of every series: the backtest (history cut by the holdout) or the final."""

    name: str
    design: Design
    shapes: dict[str, list[float]]
    days: pd.DatetimeIndex
    cut: int
    horizon: int


def _fits_of(*, run: ForecastRun) -> list[_FitSpec]:
    """The run's fits, backtest first (when it has a holdout): its order choice is reused by the final.
    Cuts and horizons in observations (days, or weeks for a weekly run)."""
    step = run.step_days
    days = pd.date_range(run.training_start, run.training_end, freq=f"{step}D")
    parameters, holdout, horizon = run.parameters, run.holdout_days // step, run.horizon_days // step
    fits = [_FitSpec("final", Design.from_dict(parameters["design"]), parameters["shapes"], days, 0, horizon)]
    if holdout:
        design = Design.from_dict(parameters["backtest_design"])
        fits.insert(0, _FitSpec("backtest", design, parameters["backtest_shapes"], days[:-holdout], holdout, holdout))
    return fits


def _series_fit(
    *, run: ForecastRun, key: SeriesKey, y: np.ndarray, fits: list[_FitSpec], previous: tuple | None, today: date
) -> SeriesForecast:
    """One series of a chunk: every candidate on the backtest and on the final fit, as a row to store.
    `previous`: the (order, selected_on) of its latest run, reused while it is fresh (`_order_due`)."""
    began = time.perf_counter()
    order, selected_on = previous or (None, None)
    if _order_due(key=key, selected_on=selected_on, today=today):
        order, selected_on = None, None
    results, windows = {}, {}
    # One kind for both fits (a backtest cut before the first return is still a series with returns).
    kind = series_kind(y)
    for fit_spec in fits:
        part = y[: len(y) - fit_spec.cut]
        coef = shape_fit(y=part, days=fit_spec.days, design=fit_spec.design, prior=_prior(key, fit_spec.shapes))
        pooled = np.asarray(fit_spec.shapes["total"])
        results[fit_spec.name] = candidates_fit(
            y=part,
            days=fit_spec.days,
            design=fit_spec.design,
            coef=coef,
            pooled_coef=pooled,
            horizon=fit_spec.horizon,
            order=order,
            kind=kind,
        )
        if order is None and results[fit_spec.name].order is not None:
            order, selected_on = results[fit_spec.name].order, today
        if key.level == Level.STORE_ITEM:
            shapes = {"calendar": coef, "pooled": pooled}
            windows[fit_spec.name] = level_windows(
                y=part, days=fit_spec.days, design=fit_spec.design, shapes=shapes, horizon=fit_spec.horizon
            )
    fit = results["final"]
    if fit.fallback:
        logger.warning("forecast fallback run=%s series=%r reason=%r", run.pk, str(key), fit.reason)
    holdout = run.holdout_days // run.step_days
    backtest = _backtest_record(fit=results.get("backtest"), actual=y[len(y) - holdout :], windows=windows)
    return SeriesForecast(
        run=run,
        level=key.level,
        store_id=key.store,
        item_id=key.item,
        kind=kind,
        order=list(fit.order) if fit.order else None,
        order_selected_on=selected_on if fit.order else None,
        fallback=fit.fallback,
        fallback_reason=fit.reason,
        info=fit.info | {"fit_seconds": round(time.perf_counter() - began, 3)},
        own={"candidates": {n: f.as_dict() for n, f in fit.forecasts.items()}}
        | ({"windows": windows["final"]} if "final" in windows else {}),
        backtest=backtest,
        fitted_at=timezone.now(),
    )


def _backtest_record(*, fit: CandidateFit | None, actual: np.ndarray, windows: dict) -> dict:
    """What a series stores of its backtest: the actual days, every candidate's forecast and its
    figures (scored here, in parallel, on the forecasts as stored: the finishing step reuses them),
    and a store-item's level windows."""
    if fit is None:
        return {}
    candidates = {n: f.as_dict() for n, f in fit.forecasts.items()}
    stored = _candidates({"candidates": candidates})  # as the finishing step reads them
    record = {
        "actual": [float(v) for v in actual],
        "candidates": candidates,
        "fallback": fit.fallback,
        "scores": candidate_scores(actual=np.asarray(actual, dtype=float), forecasts=stored),
    }
    if "backtest" in windows:
        record["windows"] = windows["backtest"]
    return record


def _prior(key: SeriesKey, shapes: dict[str, list[float]]) -> np.ndarray | None:
    """The shape a series is shrunk toward: none for the total, the total's for a store or an item,
    store + item - total for a store-item."""
    total = np.asarray(shapes["total"])
    if key.level == Level.TOTAL:
        return None
    if key.level != Level.STORE_ITEM:
        return total
    store = shapes.get(_shape_name(SeriesKey(Level.STORE, key.store, None)))
    item = shapes.get(_shape_name(SeriesKey(Level.ITEM, None, key.item)))
    if store is None or item is None:
        return total
    return prior_combine(store=np.asarray(store), item=np.asarray(item), total=total)


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
    out: dict[SeriesKey, tuple[tuple | None, date | None]] = {}
    for level, store, item, order, selected_on in SeriesForecast.objects.filter(
        run=previous, fallback=False, order__isnull=False
    ).values_list("level", "store_id", "item_id", "order", "order_selected_on"):
        key = SeriesKey(level, store, item)
        if key in wanted:
            out[key] = (tuple(order) if order is not None else None, selected_on)
    return out


# ---------------------------------------------------------------- finish


def forecast_run_finish(*, run_id: int, run_started: str | None = None) -> ForecastRun | None:
    """Reconcile the run, score it, write its points and mark it complete, in one
    transaction (so readers switch from the previous run to this one at once);
    then drop runs beyond the last RUNS_KEPT. None for a stale task (`_run_of_task`).

    Every level is handled as arrays (series x days), and the points are COPied: no per-point
    Python. The store-items' backtest figures were computed by the chunks, in parallel."""
    run = _run_of_task(run_id=run_id, run_started=run_started, step="forecast_run_finish")
    if run is None:
        return None
    if run.status != ForecastRun.Status.RUNNING:
        return run
    began = time.perf_counter()
    series = list(SeriesForecast.objects.filter(run=run).defer("info"))
    expected = run.series_count
    if len(series) < expected:
        missing = expected - len(series)
        forecast_run_fail(run_id=run_id, error=f"{missing} of {expected} series were not fitted")
        raise ForecastError(f"run {run_id}: {missing} of {expected} series were not fitted")
    levels = _levels_stack(series=series, holdout=run.holdout_days)
    summary: dict = {}
    content: dict = {}
    choice = {level: ("calendar", "no backtest (history too short): the default model") for level in Level.values}
    if run.holdout_days:
        choice, summary, content = _backtest_score(levels=levels)
    for level, stack in levels.items():
        for row in stack.rows:
            row.model, row.model_reason = choice.get(level, choice[Level.TOTAL])
    with transaction.atomic():
        locked = ForecastRun.objects.select_for_update().get(pk=run_id)
        if locked.status != ForecastRun.Status.RUNNING:
            return locked
        ForecastPoint.objects.filter(series__run=run).delete()
        _points_copy(run=run, levels=levels, choice=choice, content=content)
        SeriesForecast.objects.bulk_update(series, ["accuracy", "model", "model_reason"], batch_size=500)
        run.summary = summary
        run.parameters = run.parameters | {
            "calibration": content,
            "finish_seconds": round(time.perf_counter() - began, 1),
        }
        run.fallback_count = sum(1 for s in series if s.fallback)
        run.status = ForecastRun.Status.COMPLETE
        run.finished_at = timezone.now()
        run.save(update_fields=["summary", "parameters", "fallback_count", "status", "finished_at"])
    forecast_runs_prune()
    logger.info("forecast_run_finish run=%s series=%s fallbacks=%s", run.pk, len(series), run.fallback_count)
    return run


Candidates = dict[str, CountForecast]


def _candidates(data: dict) -> Candidates:
    """A series' candidate forecasts; a model that could not be fitted for it stands in as seasonal naive."""
    stored = {name: CountForecast.from_dict(f) for name, f in data["candidates"].items()}
    return {name: stored.get(name, stored["seasonal_naive"]) for name in CANDIDATES}


@dataclass
class _LevelStack:
    """Every series of one level as arrays (series x days), per candidate, in `rows` order; parents
    reconciled. `scores`: the chunks' backtest figures of every row ({} when a row lacks them).
    `windows`: per fit ("final", "backtest"), the store-items' level windows (series x origins; see
    level_error), summed into the parents. `looks`: per fit and candidate, how much of each row's
    daily error is its own (1) rather than the level error it shares with its peers (0)."""

    rows: list[SeriesForecast]
    final: dict[str, CountForecast]
    backtest: dict[str, CountForecast]
    actual: np.ndarray | None
    scores: list[dict]
    windows: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    looks: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def _levels_stack(*, series: list[SeriesForecast], holdout: int) -> dict[str, _LevelStack]:
    """The run's series by level, as arrays, with the parents' means summed bottom-up."""
    levels = {}
    for level in Level.values:
        rows = sorted((s for s in series if s.level == level), key=lambda s: (s.store_id or 0, s.item_id or 0))
        if not rows:
            continue
        levels[level] = _LevelStack(
            rows=rows,
            final=_stacked([_candidates(s.own) for s in rows]),
            backtest=_stacked([_candidates(s.backtest) for s in rows]) if holdout else {},
            actual=np.array([s.backtest["actual"] for s in rows], dtype=float) if holdout else None,
            scores=[s.backtest.get("scores", {}) for s in rows] if holdout else [],
            windows=_windows_stacked(rows) if level == Level.STORE_ITEM else {},
        )
    _levels_reconcile(levels)
    return levels


def _stacked(candidates: list[Candidates]) -> dict[str, CountForecast]:
    return {name: forecasts_stack([c[name] for c in candidates]) for name in CANDIDATES}


def _windows_stacked(rows: list[SeriesForecast]) -> dict[str, dict[str, np.ndarray]]:
    """The store-items' level windows per fit, as arrays (series x origins); none for a fit that a row
    lacks them for (a row carried over from a run before them)."""
    out = {}
    for kind, records in (("final", [r.own for r in rows]), ("backtest", [r.backtest for r in rows])):
        if all("windows" in record for record in records):
            out[kind] = {k: np.array([r["windows"][k] for r in records], dtype=float) for k in records[0]["windows"]}
    return out


def _levels_reconcile(levels: dict[str, _LevelStack]) -> None:
    """Bottom-up, per candidate (final and backtest): a store's, an item's and the total's mean become
    the sum of their store-items' means (so means add up). Their spread is their own model's, widened
    by the level error of that sum over many past windows (level_error)."""
    children = levels.get(Level.STORE_ITEM)
    if children is None:
        return
    for level, parent_id in ((Level.TOTAL, None), (Level.STORE, "store_id"), (Level.ITEM, "item_id")):
        if level not in levels:
            continue
        parent = levels[level]
        row_of = {getattr(s, parent_id) if parent_id else None: i for i, s in enumerate(parent.rows)}
        parent_of = np.array([row_of.get(getattr(s, parent_id) if parent_id else None, -1) for s in children.rows])
        known = parent_of >= 0

        def summed(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return bottom_up(children=values[known], parent_of=parent_of[known], parents=len(parent.rows))  # noqa: B023

        for kind in ("final", "backtest"):
            for name, forecast in getattr(parent, kind).items():
                sums, has_children = summed(getattr(children, kind)[name].mean)
                forecast.mean = np.where(has_children[:, None], sums, forecast.mean)
            if kind in children.windows:
                windows = {k: summed(v)[0] for k, v in children.windows[kind].items()}
                parent.looks[kind] = _level_error_add(forecasts=getattr(parent, kind), windows=windows)


def _level_error_add(*, forecasts: dict[str, CountForecast], windows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Widen every parent's candidates by the level error of its sum (the own calendar's windows for
    the naive candidates). Returns, per candidate, each row's share of daily error that is its own."""
    looks = {}
    for name, forecast in forecasts.items():
        shape = name if name in windows else "calendar"
        variance = np.array(
            [
                level_variance(
                    projected=windows[shape][i],
                    actual=windows["actual"][i],
                    phi=float(forecast.phi[i, 0]),
                    horizon=forecast.mean.shape[1],
                )
                for i in range(len(forecast.mean))
            ]
        )
        daily = forecast.relative_variance()
        looks[name] = np.mean(daily / (daily + variance[:, None]), axis=1)
        forecast.widen(variance[:, None])
    return looks


def _backtest_score(*, levels: dict[str, _LevelStack]) -> tuple[dict, dict, dict]:
    """Score every candidate on every level's reconciled backtest, choose each level's model
    (model_choose), calibrate the chosen model's intervals, and record each series'
    accuracy. Returns (choice per level, summary per level, calibrated content per level)."""
    figures = {level: _level_figures(stack) for level, stack in levels.items()}
    scores = {level: {name: float(np.mean(f[name]["smape"])) for name in CANDIDATES} for level, f in figures.items()}
    choice = model_choose(scores=scores)
    summary: dict[str, dict[str, Any]] = {}
    content: dict[str, dict] = {}
    for level, stack in levels.items():
        name = choice[level][0]
        actual = stack.actual
        assert actual is not None  # backtests are scored only for a run with a holdout
        content[level] = {
            str(nominal): calibration_content(
                actual=actual, forecast=stack.backtest[name], nominal=nominal, looks=_looks(stack, name)
            )
            for nominal in (80, 95)
        }
        published, naive = figures[level][name], figures[level]["seasonal_naive"]
        for i, row in enumerate(stack.rows):
            row.accuracy = accuracy_of(
                published={f: published[f][i] for f in SCORE_FIELDS},
                naive={f: naive[f][i] for f in SCORE_FIELDS},
                days=actual.shape[1],
            )
        summary[level] = {
            field: float(np.mean([r.accuracy[field] for r in stack.rows])) for field in stack.rows[0].accuracy
        }
        summary[level] |= {
            "series": len(stack.rows),
            "fallbacks": sum(1 for r in stack.rows if r.fallback),
            "model": name,
            "model_reason": choice[level][1],
            "candidates": scores[level],
        }
    return choice, summary, content


def _looks(stack: _LevelStack, name: str) -> float:
    """How many independent looks a level's backtest holds at its intervals: one per series whose error
    is its own, fewer where the series share a level error (one window shows that error once)."""
    own = stack.looks.get("backtest", {}).get(name)
    return float(len(stack.rows) if own is None else own.sum())


def _level_figures(stack: _LevelStack) -> dict[str, dict[str, np.ndarray]]:
    """Every candidate's backtest figures per series of a level: the chunks' own for store-items (their
    forecasts are not reconciled), computed here, as arrays, for the parents."""
    if all(stack.scores) and stack.rows[0].level == Level.STORE_ITEM:
        return {
            name: {field: np.array([s[name][field] for s in stack.scores]) for field in SCORE_FIELDS}
            for name in CANDIDATES
        }
    actual = stack.actual
    assert actual is not None  # backtests are scored only for a run with a holdout
    return {name: scores_rows(actual=actual, forecast=stack.backtest[name]) for name in CANDIDATES}


POINT_COLUMNS = ("series_id", "date", "yhat", "mean", "lower_80", "upper_80", "lower_95", "upper_95", "signed")


def _points_copy(*, run: ForecastRun, levels: dict[str, _LevelStack], choice: dict, content: dict) -> None:
    """Every series' published points (its level's model, calibrated bands), written with one COPY."""
    step = run.step_days
    dates = pd.date_range(run.training_end + timedelta(days=step), periods=run.horizon_days // step, freq=f"{step}D")
    frames = []
    for level, stack in levels.items():
        forecast = stack.final[choice.get(level, choice[Level.TOTAL])[0]]
        bands = count_bands(forecast, content=content.get(level))
        ids = np.array([row.pk for row in stack.rows])
        frame = {"series_id": np.repeat(ids, len(dates)), "date": np.tile(dates.strftime("%Y-%m-%d"), len(ids))}
        frame |= {"yhat": bands.yhat.ravel(), "mean": np.round(forecast.mean, 4).ravel()}
        frame |= {name: getattr(bands, name).ravel() for name in ("lower_80", "upper_80", "lower_95", "upper_95")}
        frame["signed"] = np.where((forecast.floor() < 0).ravel(), "t", "f")
        frames.append(pd.DataFrame(frame, columns=list(POINT_COLUMNS)))
    text = pd.concat(frames).to_csv(index=False, header=False)
    table = ForecastPoint._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(POINT_COLUMNS)}) FROM STDIN WITH (FORMAT csv)") as copy,
    ):
        copy.write(text)


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
        *(step, run_id),
    )
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

            def chunk_done(job: dict) -> None:
                nonlocal done
                done += len(job["keys"])
                if progress:
                    progress(done, total)

            pool.pool_map(
                target="forecasting.services.forecast_chunk_fit",
                jobs=[{"run_id": run.pk, "keys": chunk} for chunk in chunks],
                workers=workers,
                database_name=connections["default"].settings_dict["NAME"],
                done=chunk_done,
            )
        else:
            for chunk in chunks:
                forecast_chunk_fit(run_id=run.pk, keys=chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        finished = forecast_run_finish(run_id=run.pk)
        assert finished is not None  # None answers only a stale task's call (with run_started)
        return finished
    except BaseException as exc:
        forecast_run_fail(run_id=run.pk, error=f"{type(exc).__name__}: {exc}")
        raise
