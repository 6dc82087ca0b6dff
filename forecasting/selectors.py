"""Reads of forecasts (and of the sales history the forecasts need).

Readers only ever see the latest COMPLETE run: `forecast_run_latest()` is the
one place that decides which run that is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.db.models import Max, Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from forecasting.models import ForecastPoint, ForecastRun, Level, SeriesForecast
from sales.models import DailyItemTotal, DailyStoreTotal, DailyTotal, Item, Sale, Store

STALE_AFTER = timedelta(hours=36)


@dataclass(frozen=True, order=True)
class SeriesKey:
    """Which series: level plus the store and/or item it is about (None where not applicable)."""

    level: str
    store: int | None = None
    item: int | None = None

    @classmethod
    def for_filters(cls, *, store: int | None, item: int | None) -> SeriesKey:
        if store is not None and item is not None:
            return cls(Level.STORE_ITEM, store, item)
        if store is not None:
            return cls(Level.STORE, store, None)
        if item is not None:
            return cls(Level.ITEM, None, item)
        return cls(Level.TOTAL)

    def as_list(self) -> list:
        return [self.level, self.store, self.item]

    @classmethod
    def from_list(cls, value: list) -> SeriesKey:
        level, store, item = value
        return cls(str(level), None if store is None else int(store), None if item is None else int(item))

    def __str__(self) -> str:
        parts = [self.level]
        if self.store is not None:
            parts.append(f"store {self.store}")
        if self.item is not None:
            parts.append(f"item {self.item}")
        return " ".join(parts)


# ---------------------------------------------------------------- history


def history_range() -> tuple[date, date] | None:
    """(first day, last complete day) of the sales history, or None when there is none.

    The last complete day is the last day with sales before today (TIME_ZONE):
    today is still filling up while live sales stream in."""
    today = timezone.localdate()
    bounds = DailyTotal.objects.filter(date__lt=today).aggregate(first=Min("date"), last=Max("date"))
    if bounds["last"] is None:
        return None
    return bounds["first"], bounds["last"]


def series_keys_all() -> list[SeriesKey]:
    """Every series that has history: the total, each store, each item, each store-item pair with sales."""
    stores = sorted(DailyStoreTotal.objects.values_list("store_id", flat=True).distinct())
    items = sorted(DailyItemTotal.objects.values_list("item_id", flat=True).distinct())
    pairs = sorted(Sale.objects.values_list("store_id", "item_id").distinct())
    return [
        SeriesKey(Level.TOTAL),
        *(SeriesKey(Level.STORE, s, None) for s in stores),
        *(SeriesKey(Level.ITEM, None, i) for i in items),
        *(SeriesKey(Level.STORE_ITEM, s, i) for s, i in pairs),
    ]


def series_history(*, keys: list[SeriesKey], start: date, end: date) -> dict[SeriesKey, np.ndarray]:
    """Daily sales of each series for every day start..end (a day without a row is 0)."""
    n = (end - start).days + 1
    out = {key: np.zeros(n) for key in keys}

    def fill(key: SeriesKey, rows) -> None:
        series = out.get(key)
        if series is None:
            return
        for day, sales in rows:
            series[(day - start).days] = sales

    by_level: dict[str, list[SeriesKey]] = {}
    for key in keys:
        by_level.setdefault(key.level, []).append(key)
    window = {"date__gte": start, "date__lte": end}
    if Level.TOTAL in by_level:
        fill(SeriesKey(Level.TOTAL), DailyTotal.objects.filter(**window).values_list("date", "sales"))
    if Level.STORE in by_level:
        rows = DailyStoreTotal.objects.filter(store_id__in=[k.store for k in by_level[Level.STORE]], **window)
        for store_id, day, sales in rows.values_list("store_id", "date", "sales").iterator(chunk_size=10000):
            fill(SeriesKey(Level.STORE, store_id, None), [(day, sales)])
    if Level.ITEM in by_level:
        rows = DailyItemTotal.objects.filter(item_id__in=[k.item for k in by_level[Level.ITEM]], **window)
        for item_id, day, sales in rows.values_list("item_id", "date", "sales").iterator(chunk_size=10000):
            fill(SeriesKey(Level.ITEM, None, item_id), [(day, sales)])
    if Level.STORE_ITEM in by_level:
        pairs = by_level[Level.STORE_ITEM]
        rows = Sale.objects.filter(
            store_id__in={k.store for k in pairs}, item_id__in={k.item for k in pairs}, **window
        ).values_list("store_id", "item_id", "date", "sales")
        for store_id, item_id, day, sales in rows.iterator(chunk_size=20000):
            series = out.get(SeriesKey(Level.STORE_ITEM, store_id, item_id))
            if series is not None:
                series[(day - start).days] = sales
    return out


def series_actuals(*, key: SeriesKey, start: date, end: date) -> dict[date, int]:
    """Sales of one series per day start..end, only for days that have any sales recorded at all
    (so a day that has not happened yet is absent, and a day with data but none for this series is 0)."""
    days_with_data = list(DailyTotal.objects.filter(date__gte=start, date__lte=end).values_list("date", flat=True))
    values = series_history(keys=[key], start=start, end=end)[key] if days_with_data else []
    return {day: int(values[(day - start).days]) for day in days_with_data}


# ---------------------------------------------------------------- runs


def forecast_run_latest() -> ForecastRun | None:
    """The latest complete run: the only one readers may see."""
    return ForecastRun.objects.filter(status=ForecastRun.Status.COMPLETE).order_by("-finished_at", "-id").first()


def forecast_series_get(*, run: ForecastRun, key: SeriesKey) -> SeriesForecast | None:
    return SeriesForecast.objects.filter(run=run, level=key.level, store_id=key.store, item_id=key.item).first()


def forecast_points(*, series: SeriesForecast, days: int | None = None) -> list[ForecastPoint]:
    points = ForecastPoint.objects.filter(series=series).order_by("date")
    return list(points[:days] if days is not None else points)


def forecast_pending(*, key: SeriesKey) -> dict:
    """The predictions answer while there is no forecast for `key`: not an error but a state of the
    product (a fresh install, a refit after a load, a series newer than the latest run). `status` is
    "running" while a refit runs (it will publish one), else "none"; `message` says what to expect."""
    running = ForecastRun.objects.filter(status=ForecastRun.Status.RUNNING).order_by("-started_at").first()
    if running is not None:
        message = "a refit is running; its forecast appears here when it finishes"
    elif forecast_run_latest() is None:
        message = "no forecast yet: the nightly refit fits one, or run `manage.py forecast` now"
    else:
        message = f"no forecast for {key} yet (its sales are newer than the latest refit)"
    return {
        "status": "running" if running else "none",
        "message": message,
        "series": {"level": key.level, "store": key.store, "item": key.item},
        "running_since": running.started_at.isoformat() if running else None,
        "actuals": [],
        "forecast": [],
    }


def forecast_detail(*, store: int | None, item: int | None, days: int | None) -> dict:
    """Everything GET /api/sales/predictions returns (see API_CONTRACT.md).

    `status` is "ready"; with no forecast for the series yet, the answer is `forecast_pending`'s instead.
    Raises LookupError (unknown store/item) and ValueError("days", ..) for a horizon beyond the
    fitted one; the API turns these into 404/400."""
    if store is not None and not Store.objects.filter(pk=store).exists():
        raise LookupError(f"unknown store {store}")
    if item is not None and not Item.objects.filter(pk=item).exists():
        raise LookupError(f"unknown item {item}")
    key = SeriesKey.for_filters(store=store, item=item)
    run = forecast_run_latest()
    if run is None:
        return forecast_pending(key=key)
    if days is None:
        days = run.horizon_days
    if days > run.horizon_days:
        raise ValueError(f"days must be at most {run.horizon_days}, the horizon of the latest forecast run")
    series = forecast_series_get(run=run, key=key)
    if series is None:
        return forecast_pending(key=key)
    points = forecast_points(series=series, days=days)
    forecast_start = run.training_end + timedelta(days=1)
    recent_start = max(run.training_start, run.training_end - timedelta(days=89))
    history = series_actuals(key=key, start=recent_start, end=run.training_end)
    live = series_actuals(key=key, start=forecast_start, end=forecast_start + timedelta(days=max(days, 1) - 1))
    model = _model_of(run=run, series=series)
    accuracy_keys = (
        "smape",
        "mae",
        "coverage_80",
        "coverage_95",
        "naive_smape",
        "naive_mae",
        "naive_coverage_80",
        "naive_coverage_95",
    )
    accuracy = {name: _rounded(series.accuracy.get(name)) for name in accuracy_keys}
    accuracy["holdout_days"] = run.holdout_days
    accuracy["level"] = {name: _rounded(run.summary.get(key.level, {}).get(name)) for name in accuracy_keys}
    return {
        "status": "ready",
        "series": {"level": key.level, "store": key.store, "item": key.item},
        "run": {"id": run.pk, "fitted_at": run.finished_at.isoformat(), "horizon_days": run.horizon_days},
        "model": model,
        "model_reason": series.model_reason or None,
        "point": "median",
        "accuracy": accuracy,
        "actuals": [{"date": day.isoformat(), "sales": sales} for day, sales in sorted(history.items())],
        "forecast": [
            {
                "date": p.date.isoformat(),
                "yhat": round(p.yhat, 2),
                "mean": None if p.mean is None else round(p.mean, 2),
                "lower_80": round(p.lower_80, 2),
                "upper_80": round(p.upper_80, 2),
                "lower_95": round(p.lower_95, 2),
                "upper_95": round(p.upper_95, 2),
                "actual": live.get(p.date),
            }
            for p in points
        ],
    }


def _model_of(*, run: ForecastRun, series: SeriesForecast) -> dict:
    """The published model of a series: which candidate won its level's backtest, and what it learnt."""
    from forecasting.modelling import CANDIDATE_NAMES

    design = run.parameters.get("design", {})
    chosen = series.model or "calendar"
    if series.fallback and chosen in ("calendar", "pooled"):
        chosen = "seasonal_naive"  # its model could not be fitted: seasonal naive stood in
    own = chosen in ("calendar", "pooled")
    holidays = series.info.get("holidays", {}) if chosen == "calendar" else {}
    return {
        "id": chosen,
        "name": CANDIDATE_NAMES.get(chosen, chosen),
        "order": series.order if own else None,
        "seasonal_order": {"seasonal_naive": [0, 1, 0, 7], "last_year": [0, 1, 0, 364]}.get(chosen, [0, 0, 0, 0]),
        "exogenous": run.parameters.get("exogenous", []) if own else [],
        "training_start": run.training_start.isoformat(),
        "training_end": run.training_end.isoformat(),
        "fitted_at": series.fitted_at.isoformat(),
        "fallback": series.fallback,
        "fallback_reason": series.fallback_reason or None,
        "fourier_k": design.get("fourier_k"),
        "level": series.info.get("level"),
        "holidays": [{"date": day, "effect": round(effect, 3)} for day, effect in sorted(holidays.items())],
        "closures": design.get("closures", []),
        "candidates": {
            name: _rounded(value) for name, value in run.summary.get(series.level, {}).get("candidates", {}).items()
        },
    }


def _rounded(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), 2)


# ---------------------------------------------------------------- health and KPI


def forecast_health() -> dict:
    """{"status": "ok" | "stale" | "empty", "age_seconds": float | None}: age of the latest complete run
    (stale after 36 h, i.e. a nightly refit was missed)."""
    run = forecast_run_latest()
    if run is None:
        return {"status": "empty", "age_seconds": None}
    age = (timezone.now() - run.finished_at).total_seconds()
    return {
        "status": "stale" if age > STALE_AFTER.total_seconds() else "ok",
        "age_seconds": round(age, 1),
        "run_id": run.pk,
        "training_end": run.training_end.isoformat(),
    }


def forecast_today(
    *, store_ids: list[int] | None = None, item_ids: list[int] | None = None, day: date | None = None
) -> dict:
    """Today's (TIME_ZONE; or `day`'s) expected sales for a selection, for the "today so far vs forecast" KPI:
    the mean of the forecast (means add up across series; the published point is a median).

    {"date", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"}; the values are None
    when there is no complete run or today is outside its horizon. A selection of
    several series is the sum of the narrowest level that covers it; its interval
    half-widths are combined in quadrature (the series' noise is close to independent)."""
    today = day or timezone.localdate()
    empty = {"date": today.isoformat(), "forecast": None}
    empty |= dict.fromkeys(("lower_80", "upper_80", "lower_95", "upper_95"))
    run = forecast_run_latest()
    if run is None:
        return empty
    series = SeriesForecast.objects.filter(run=run)
    if store_ids and item_ids:
        series = series.filter(level=Level.STORE_ITEM, store_id__in=store_ids, item_id__in=item_ids)
    elif store_ids:
        series = series.filter(level=Level.STORE, store_id__in=store_ids)
    elif item_ids:
        series = series.filter(level=Level.ITEM, item_id__in=item_ids)
    else:
        series = series.filter(level=Level.TOTAL)
    columns = ("yhat", "lower_80", "upper_80", "lower_95", "upper_95")
    points = list(
        ForecastPoint.objects.filter(series__in=series, date=today)
        .annotate(expected=Coalesce("mean", "yhat"))
        .values_list("expected", *columns)
    )
    if not points:
        return empty
    values = np.asarray(points, dtype=float)
    expected = values[:, 0].sum()
    result = {"date": today.isoformat(), "forecast": round(float(expected), 2)}
    for column, name in enumerate(columns[1:], start=2):
        if len(values) == 1:
            bound = values[0, column]
            result[name] = round(float(min(bound, expected) if name.startswith("lower") else max(bound, expected)), 2)
            continue
        spread = math.sqrt(float(((values[:, column] - values[:, 1]) ** 2).sum()))
        result[name] = round(float(max(expected - spread, 0.0) if name.startswith("lower") else expected + spread), 2)
    return result


def forecast_level_summary(*, run: ForecastRun) -> list[dict]:
    """Rows of the accuracy-by-level table (command output, bench)."""
    rows = []
    for level in Level.values:
        figures = run.summary.get(level)
        if figures:
            rows.append({"level": level, **figures})
    return rows


def forecast_dates(*, run: ForecastRun) -> pd.DatetimeIndex:
    return pd.date_range(run.training_end + timedelta(days=1), periods=run.horizon_days, freq="D")
