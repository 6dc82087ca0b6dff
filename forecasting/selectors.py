"""Reads of forecasts (and of the sales history the forecasts need).

Readers only ever see the latest COMPLETE run: `forecast_run_latest()` is the
one place that decides which run that is.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from django.db.models import Max, Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from forecasting.models import ForecastPoint, ForecastRun, Level, SeriesForecast
from sales.selectors import SalesFilters, daily_totals, history_keys, stores_items_unknown

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


# A history that ends at most this many days before today is current (the demo's, a daily load): its fit
# covers the days up to today too, and its published forecast starts tomorrow. An older one (a file
# loaded as it is) is forecast from the day after it ends.
CURRENT_HISTORY_DAYS = 7


def forecast_lead_days(*, end: date) -> int:
    """Days fitted between a history ending on `end` and the published forecast, which starts tomorrow:
    today (its full-day expectation is what "today so far" is paced against, and today is drawn as a
    partial day), and any whole days missing before it. 1 for a history that ends yesterday; 0 for one
    that is not current (CURRENT_HISTORY_DAYS)."""
    gap = (timezone.localdate() - end).days
    return gap if 1 <= gap <= CURRENT_HISTORY_DAYS else 0


def history_range() -> tuple[date, date] | None:
    """(first day, last complete day) of the sales history, or None when there is none.

    The last complete day is the last day with sales before today (TIME_ZONE):
    today is still filling up while live sales stream in."""
    yesterday = timezone.localdate() - timedelta(days=1)
    bounds = daily_totals(filters=SalesFilters(date_to=yesterday)).aggregate(first=Min("date"), last=Max("date"))
    if bounds["last"] is None:
        return None
    return bounds["first"], bounds["last"]


def history_step(*, start: date, end: date) -> int:
    """Days between a history's observations: 7 when its dates (days with any sales) are a week apart
    (a weekly history: one row a week, dated on the week's last day), else 1."""
    dates = list(
        daily_totals(filters=SalesFilters(date_from=start, date_to=end)).order_by("date").values_list("date", flat=True)
    )
    gaps = {(b - a).days % 7 for a, b in itertools.pairwise(dates)}
    return 7 if len(dates) >= 8 and gaps == {0} else 1


def series_keys_all() -> list[SeriesKey]:
    """Every series that has history: the total, each store, each item, each store-item pair with sales."""
    keys = history_keys()
    return [
        SeriesKey(Level.TOTAL),
        *(SeriesKey(Level.STORE, s, None) for s in keys.stores),
        *(SeriesKey(Level.ITEM, None, i) for i in keys.items),
        *(SeriesKey(Level.STORE_ITEM, s, i) for s, i in keys.pairs),
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
    # Each level's rows come from the table sales' resolver picks for its filters (the daily total, per
    # store, per item, or sales_sale for pairs).
    if Level.TOTAL in by_level:
        fill(
            SeriesKey(Level.TOTAL),
            daily_totals(filters=SalesFilters(date_from=start, date_to=end)).values_list("date", "sales"),
        )
    if Level.STORE in by_level:
        stores = tuple(k.store for k in by_level[Level.STORE] if k.store is not None)
        filters = SalesFilters(stores=stores, date_from=start, date_to=end)
        rows = daily_totals(filters=filters, group_by="store").values_list("store_id", "date", "sales")
        for store_id, day, sales in rows.iterator(chunk_size=10000):
            fill(SeriesKey(Level.STORE, store_id, None), [(day, sales)])
    if Level.ITEM in by_level:
        items = tuple(k.item for k in by_level[Level.ITEM] if k.item is not None)
        filters = SalesFilters(items=items, date_from=start, date_to=end)
        rows = daily_totals(filters=filters, group_by="item").values_list("item_id", "date", "sales")
        for item_id, day, sales in rows.iterator(chunk_size=10000):
            fill(SeriesKey(Level.ITEM, None, item_id), [(day, sales)])
    if Level.STORE_ITEM in by_level:
        pairs = by_level[Level.STORE_ITEM]
        filters = SalesFilters(
            stores=tuple({k.store for k in pairs if k.store is not None}),
            items=tuple({k.item for k in pairs if k.item is not None}),
            date_from=start,
            date_to=end,
        )
        rows = daily_totals(filters=filters).values_list("store_id", "item_id", "date", "sales")
        for store_id, item_id, day, sales in rows.iterator(chunk_size=20000):
            series = out.get(SeriesKey(Level.STORE_ITEM, store_id, item_id))
            if series is not None:
                series[(day - start).days] = sales
    return out


def series_actuals(*, key: SeriesKey, start: date, end: date) -> dict[date, Units]:
    """Sales of one series per day start..end, only for days that have any sales recorded at all
    (so a day that has not happened yet is absent, and a day with data but none for this series is 0).
    Whole units as int; units with decimals (kilograms, dollars) as floats rounded to the history's three."""
    days_with_data = list(
        daily_totals(filters=SalesFilters(date_from=start, date_to=end)).values_list("date", flat=True)
    )
    values = series_history(keys=[key], start=start, end=end)[key] if days_with_data else np.zeros(0)
    return {day: units_of(values[(day - start).days]) for day in days_with_data}


# ---------------------------------------------------------------- runs


def forecast_run_latest() -> ForecastRun | None:
    """The latest complete run: the only one readers may see."""
    return ForecastRun.objects.filter(status=ForecastRun.Status.COMPLETE).order_by("-finished_at", "-id").first()


def forecast_series_get(*, run: ForecastRun, key: SeriesKey) -> SeriesForecast | None:
    return SeriesForecast.objects.filter(run=run, level=key.level, store_id=key.store, item_id=key.item).first()


def forecast_points(*, series: SeriesForecast, days: int | None = None) -> list[ForecastPoint]:
    points = ForecastPoint.objects.filter(series=series).order_by("date")
    return list(points[:days] if days is not None else points)


ACCURACY_NAMES = (
    "smape",
    "mae",
    "coverage_80",
    "coverage_95",
    "naive_smape",
    "naive_mae",
    "naive_coverage_80",
    "naive_coverage_95",
)


Units = int | float


def units_of(value: float) -> Units:
    """A day's sales as the API shows them: a whole number as an int (counts look as they always did),
    any other (dollars, kilograms) as a float."""
    value = float(value)
    return int(value) if value.is_integer() else value


@dataclass(frozen=True)
class ActualDay:
    date: date
    sales: Units


@dataclass(frozen=True)
class ForecastDay:
    """One forecast day: the published point (a median), the mean (adds up across series), the
    calibrated 80/95 % bounds, and the actual sales once the day has any (None before)."""

    date: date
    yhat: float
    mean: float | None
    lower_80: float
    upper_80: float
    lower_95: float
    upper_95: float
    actual: Units | None


@dataclass(frozen=True)
class HolidayEffect:
    """A date-bound effect the calendar model learnt, as a multiplicative change (0.3 = +30 %): a
    fixed date learnt from the history (`date` MM-DD, no `name`), or a holiday of HOLIDAY_COUNTRY
    (`name`, and `date` its next day after the history, YYYY-MM-DD; None if past the design's span)."""

    date: str | None
    effect: float
    name: str | None = None


@dataclass(frozen=True)
class AccuracyFigures:
    """Backtest figures on the held-out days (None where not measured or not finite)."""

    smape: float | None
    mae: float | None
    coverage_80: float | None
    coverage_95: float | None
    naive_smape: float | None
    naive_mae: float | None
    naive_coverage_80: float | None
    naive_coverage_95: float | None

    @classmethod
    def from_figures(cls, figures: dict) -> AccuracyFigures:
        return cls(**{name: _finite(figures.get(name)) for name in ACCURACY_NAMES})


@dataclass(frozen=True)
class SeriesAccuracy(AccuracyFigures):
    """The series' own figures, the held-out span, and the figures of its whole level."""

    holdout_days: int = 0
    level: AccuracyFigures | None = None


@dataclass(frozen=True)
class PublishedModel:
    """The model a series is published with: the candidate that won its level's backtest, and what it learnt."""

    id: str
    name: str
    order: list[int] | None
    seasonal_order: list[int]
    exogenous: list[str]
    training_start: date
    training_end: date
    fitted_at: datetime
    fallback: bool
    fallback_reason: str | None
    fourier_k: int | None
    level: float | None
    holidays: list[HolidayEffect]
    closures: list[str]
    candidates: dict[str, float | None]


@dataclass(frozen=True)
class RunSummary:
    id: int
    fitted_at: datetime | None  # a complete run's finished_at: always set
    horizon_days: int
    frequency: str = "D"  # ForecastRun.Frequency: a point a day ("D") or a week ("W")


@dataclass(frozen=True)
class ForecastDetail:
    """GET /api/sales/predictions when the series has a forecast (`status` "ready"). `forecast` starts
    tomorrow; `today` is today's own forecast (the whole day's, with the actual so far), None when
    the run does not cover today."""

    series: SeriesKey
    run: RunSummary
    model: PublishedModel
    model_reason: str | None
    accuracy: SeriesAccuracy
    actuals: list[ActualDay]
    forecast: list[ForecastDay]
    today: ForecastDay | None
    status: str = "ready"
    point: str = "median"  # which statistic `yhat` is; `mean` is the one that adds up
    kind: str = "count"  # the series' values (SeriesKind): counts, continuous (dollars, kg) or signed
    frequency: str = "D"  # a point a day ("D"), or a week ("W": dated on the week's last day)


@dataclass(frozen=True)
class ForecastPending:
    """GET /api/sales/predictions while the series has no forecast: `status` "running" (a refit will
    publish one) or "none", and a `message` saying what to expect."""

    status: str
    message: str
    series: SeriesKey
    running_since: datetime | None
    actuals: list[ActualDay] = field(default_factory=list)
    forecast: list[ForecastDay] = field(default_factory=list)


def forecast_pending(*, key: SeriesKey) -> ForecastPending:
    """The predictions answer while there is no forecast for `key`: not an error but a state of the
    product (a fresh install, a refit after a load, a series newer than the latest run)."""
    running = ForecastRun.objects.filter(status=ForecastRun.Status.RUNNING).order_by("-started_at").first()
    if running is not None:
        message = "a refit is running; its forecast appears here when it finishes"
    elif forecast_run_latest() is None:
        message = "no forecast yet: the nightly refit fits one, or run `manage.py forecast` now"
    else:
        message = f"no forecast for {key} yet (its sales are newer than the latest refit)"
    return ForecastPending(
        status="running" if running else "none",
        message=message,
        series=key,
        running_since=running.started_at if running else None,
    )


def forecast_detail(*, store: int | None, item: int | None, days: int | None) -> ForecastDetail | ForecastPending:
    """Everything GET /api/sales/predictions returns (see API_CONTRACT.md), unrounded: the API
    shapes it.

    With no forecast for the series yet, the answer is `forecast_pending`'s.
    Raises LookupError (unknown store/item) and ValueError("days", ..) for a horizon beyond the
    fitted one; the API turns these into 404/400."""
    unknown = stores_items_unknown(
        store_ids=[store] if store is not None else [], item_ids=[item] if item is not None else []
    )
    if unknown.stores:
        raise LookupError(f"unknown store {store}")
    if unknown.items:
        raise LookupError(f"unknown item {item}")
    key = SeriesKey.for_filters(store=store, item=item)
    run = forecast_run_latest()
    if run is None:
        return forecast_pending(key=key)
    today = timezone.localdate()
    step = run.step_days
    fitted_start, forecast_start, horizon = _published_span(run=run, today=today)
    if days is None:
        days = horizon
    if days > horizon:
        raise ValueError(f"days must be at most {horizon}, the horizon of the latest forecast run")
    series = forecast_series_get(run=run, key=key)
    if series is None:
        return forecast_pending(key=key)
    points = forecast_points(series=series, days=math.ceil(((forecast_start - fitted_start).days + days) / step))
    recent_start = max(run.training_start, run.training_end - timedelta(days=89))
    history = series_actuals(key=key, start=recent_start, end=run.training_end)
    live = series_actuals(key=key, start=fitted_start, end=forecast_start + timedelta(days=max(days, 1) - 1))
    days_of = {
        p.date: ForecastDay(
            date=p.date,
            yhat=p.yhat,
            mean=p.mean,
            lower_80=p.lower_80,
            upper_80=p.upper_80,
            lower_95=p.lower_95,
            upper_95=p.upper_95,
            actual=live.get(p.date),
        )
        for p in points
    }
    own = AccuracyFigures.from_figures(series.accuracy)
    level = AccuracyFigures.from_figures(run.summary.get(key.level, {}))
    return ForecastDetail(
        series=key,
        run=RunSummary(id=run.pk, fitted_at=run.finished_at, horizon_days=horizon, frequency=run.frequency),
        model=_model_of(run=run, series=series),
        model_reason=series.model_reason or None,
        accuracy=SeriesAccuracy(**vars(own), holdout_days=run.holdout_days, level=level),
        actuals=[ActualDay(date=day, sales=sales) for day, sales in sorted(history.items())],
        forecast=[day for on, day in days_of.items() if on >= forecast_start],
        today=days_of.get(today) if today < forecast_start else None,
        kind=series.kind,
        frequency=run.frequency,
    )


def _published_span(*, run: ForecastRun, today: date) -> tuple[date, date, int]:
    """(first fitted point's date, first published date, days published). Published from tomorrow (or, for a
    history that is not current, from the day after it); the days fitted before that (today) are not part of
    the horizon. A weekly run publishes from the week after its history's last."""
    fitted_start = run.training_end + timedelta(days=run.step_days)
    lead = run.step_days == 1 and forecast_lead_days(end=run.training_end)
    forecast_start = today + timedelta(days=1) if lead else fitted_start
    return fitted_start, forecast_start, max(0, run.horizon_days - (forecast_start - fitted_start).days)


def _model_of(*, run: ForecastRun, series: SeriesForecast) -> PublishedModel:
    """The published model of a series: which candidate won its level's backtest, and what it learnt."""
    from forecasting.candidates import CANDIDATE_NAMES

    design = run.parameters.get("design", {})
    chosen = series.model or "calendar"
    if series.fallback and chosen in ("calendar", "pooled"):
        chosen = "seasonal_naive"  # its model could not be fitted: seasonal naive stood in
    own = chosen in ("calendar", "pooled")
    holidays = _holidays_of(run=run, series=series, chosen=chosen)
    return PublishedModel(
        id=chosen,
        name=CANDIDATE_NAMES.get(chosen, chosen),
        order=series.order if own else None,
        seasonal_order={"seasonal_naive": [0, 1, 0, 7], "last_year": [0, 1, 0, 364]}.get(chosen, [0, 0, 0, 0]),
        exogenous=run.parameters.get("exogenous", []) if own else [],
        training_start=run.training_start,
        training_end=run.training_end,
        fitted_at=series.fitted_at,
        fallback=series.fallback,
        fallback_reason=series.fallback_reason or None,
        fourier_k=design.get("fourier_k"),
        level=series.info.get("level"),
        holidays=holidays,
        closures=design.get("closures", []),
        candidates={
            name: _finite(value) for name, value in run.summary.get(series.level, {}).get("candidates", {}).items()
        },
    )


def _holidays_of(*, run: ForecastRun, series: SeriesForecast, chosen: str) -> list[HolidayEffect]:
    """The dated effects of the published model: the series' own (calendar), the total's shape that
    every series shares (pooled), none for a naive model."""
    from forecasting.series_calendar import Design, holiday_effects

    design = run.parameters.get("design", {})
    if chosen == "calendar":
        fixed, named = series.info.get("holidays", {}), series.info.get("country_holidays", {})
    elif chosen == "pooled" and design and "total" in run.parameters.get("shapes", {}):
        fixed, named = holiday_effects(design=Design.from_dict(design), coef=run.parameters["shapes"]["total"])
    else:
        return []
    next_days = {
        name: next((day for day in dates if day > run.training_end.isoformat()), None)
        for name, dates in design.get("country_holidays", [])
    }
    return [HolidayEffect(date=day, effect=effect) for day, effect in sorted(fixed.items())] + [
        HolidayEffect(date=next_days.get(name), effect=effect, name=name) for name, effect in named.items()
    ]


def _finite(value: float | None) -> float | None:
    """A stored figure as a float, None where it is missing or not finite (NaN from an empty backtest)."""
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


# ---------------------------------------------------------------- health and KPI


def forecast_health() -> dict:
    """{"status": "ok" | "stale" | "empty", "age_seconds": float | None}: age of the latest complete run
    (stale after 36 h, i.e. a nightly refit was missed)."""
    run = forecast_run_latest()
    if run is None or run.finished_at is None:  # the latest complete run: it has finished
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
    if run is None or run.frequency != ForecastRun.Frequency.DAILY:
        return empty  # a weekly run's points are weeks: none of them is a day's
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
