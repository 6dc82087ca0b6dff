"""Where a rule (saved or not) would have fired over the last days: a read, for tuning a rule before saving it.

It replays the batches recorded where there are any: today's sales so far per series at each quarter hour
with a batch, against that day's forecast paced by the time of day. Days without batches are replayed as
daily totals against the daily forecast (the whole day, pace 1), and say so. A rule over every item or
every store-item is replayed on daily totals only (some 3,000 to 30,000 series of 96 quarter hours a day
are too many to replay on a page view).
The forecast of a past day comes from the newest kept run that covered it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.utils import timezone

from alerts import evaluation, selectors
from alerts.models import NODE_LEVELS, Level, Rule
from alerts.selectors import NONE, Scope
from forecasting.models import ForecastPoint, ForecastRun
from sales.models import DailyItemTotal, DailyStoreTotal, DailyTotal, Sale

MODE_BATCHES = "batches"
MODE_DAILY = "daily"


@dataclass
class Preview:
    """`points`: one per moment judged, oldest first: {at, mode, actual, expected, lower, upper, held,
    firing} for a rule over one series; {at, mode, series, held, firing} (counts of series) for a rule
    over many. `fired`: moments at which the rule would have been firing. `notes`: what was replayed how."""

    days: int
    per_series: bool
    curve: str
    points: list[dict] = field(default_factory=list)
    fired: int = 0
    notes: list[str] = field(default_factory=list)


def rule_preview(*, rule: Rule, days: int = 30, now: datetime | None = None) -> Preview:
    now = now or timezone.now()
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    scope = Scope.of(rule)
    curves = selectors.pace_curves(day=today)
    preview = Preview(days=days, per_series=rule.per_series, curve=_curve_name(curves, scope))
    if scope.level in NODE_LEVELS:
        return _node_preview(rule, preview=preview, scope=scope, first=first, last=today)
    if rule.condition == Rule.Condition.NO_DATA:
        frames = _no_data_replay(rule, scope=scope, first=first, now=now)
    else:
        daily = _daily_actuals(scope=scope, first=first, last=today)
        forecast = _forecasts_of(scope=scope, first=first, last=today)
        batch_days, batches = set(), pd.DataFrame()
        if scope.level in (Level.TOTAL, Level.STORE) or scope.item is not None:
            batches = _batch_replay(scope=scope, start=_midnight(first), end=now)
            batch_days = set(batches["day"]) if len(batches) else set()
        frames = _judged(rule, daily=daily, batches=batches, batch_days=batch_days, forecast=forecast, curves=curves)
        if forecast.empty and rule.condition != Rule.Condition.THRESHOLD:
            preview.notes.append("no kept forecast run covers these days: forecast conditions cannot be judged")
        preview.notes.append(
            f"{len(batch_days)} days replayed from recorded batches, {days - len(batch_days)} from daily totals against the daily forecast"
        )
    preview.points, preview.fired = _points(frames, rule=rule)
    return preview


def _node_preview(rule: Rule, *, preview: Preview, scope: Scope, first: date, last: date) -> Preview:
    """A region's, category's or department's daily totals against the sum of its children's daily forecasts
    (means and bounds add up), one point a day; no-data rules on nodes are not replayed."""
    if rule.condition == Rule.Condition.NO_DATA:
        preview.notes.append(f"no-data rules on a {scope.level} are not replayed")
        return preview
    child = Scope(level=scope.children, store=None, item=None)
    columns = ["actual", "expected", "lower_80", "upper_80", "lower_95", "upper_95"]

    def by_node(frame: pd.DataFrame) -> pd.DataFrame:
        # Each node's figures under the store key: the replay below groups series by store and item.
        frame = selectors.children_to_nodes(frame, scope=scope)
        present = [c for c in columns if c in frame]
        summed = frame.groupby(["day", "node"], as_index=False)[present].sum(min_count=1)
        return summed.rename(columns={"node": "store"}).assign(item=NONE)

    daily = by_node(_daily_actuals(scope=child, first=first, last=last))
    forecast = by_node(_forecasts_of(scope=child, first=first, last=last))
    frames = _judged(rule, daily=daily, batches=pd.DataFrame(), batch_days=set(), forecast=forecast, curves=None)
    preview.points, preview.fired = _points(frames, rule=rule)
    preview.notes.append(
        f"{preview.days} days replayed from daily totals against the sum of the {child.level}s' daily forecasts"
        " (bounds: the sum of theirs)"
    )
    return preview


def _curve_name(curves: selectors.PaceCurves, scope: Scope) -> str:
    curve = curves.of(scope.store) if scope.store is not None else curves.total
    return curve.kind


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _daily_actuals(*, scope: Scope, first: date, last: date) -> pd.DataFrame:
    if scope.level == Level.TOTAL:
        rows = [
            (d, NONE, NONE, s)
            for d, s in DailyTotal.objects.filter(date__range=(first, last)).values_list("date", "sales")
        ]
    elif scope.level == Level.STORE:
        query = DailyStoreTotal.objects.filter(date__range=(first, last))
        query = query.filter(store_id=scope.store) if scope.store is not None else query
        rows = [(d, s, NONE, t) for d, s, t in query.values_list("date", "store_id", "sales")]
    elif scope.level == Level.ITEM:
        by_item = DailyItemTotal.objects.filter(date__range=(first, last))
        by_item = by_item.filter(item_id=scope.item) if scope.item is not None else by_item
        rows = [(d, NONE, i, t) for d, i, t in by_item.values_list("date", "item_id", "sales")]
    else:
        by_pair = Sale.objects.filter(date__range=(first, last))
        by_pair = by_pair.filter(store_id=scope.store) if scope.store is not None else by_pair
        by_pair = by_pair.filter(item_id=scope.item) if scope.item is not None else by_pair
        rows = list(by_pair.values_list("date", "store_id", "item_id", "sales"))
    return pd.DataFrame(rows, columns=["day", "store", "item", "actual"])


def _forecasts_of(*, scope: Scope, first: date, last: date) -> pd.DataFrame:
    """Each day's forecast per series from the newest complete run that covered it."""
    points = ForecastPoint.objects.filter(
        series__run__status=ForecastRun.Status.COMPLETE, series__level=scope.level, date__range=(first, last)
    )
    if scope.store is not None:
        points = points.filter(series__store_id=scope.store)
    if scope.item is not None:
        points = points.filter(series__item_id=scope.item)
    columns = ["day", "store", "item", "finished", "expected", "lower_80", "upper_80", "lower_95", "upper_95"]
    rows = points.values_list(
        "date",
        "series__store_id",
        "series__item_id",
        "series__run__finished_at",
        "mean",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
    )
    frame = pd.DataFrame(list(rows), columns=columns)
    frame[["store", "item"]] = frame[["store", "item"]].fillna(NONE).astype("int64")
    frame = frame.sort_values("finished").drop_duplicates(["day", "store", "item"], keep="last")
    return frame.drop(columns="finished")


def _batch_replay(*, scope: Scope, start: datetime, end: datetime) -> pd.DataFrame:
    """Sales so far of the day per series at the end of each quarter hour that had a batch: columns
    day, minutes, store, item, actual."""
    events = selectors.batches_counted().filter(timestamp__gte=start, timestamp__lte=end, total__gt=0).order_by("id")
    if scope.level == Level.TOTAL:
        rows = [(m, NONE, NONE, t) for m, t in events.values_list("timestamp", "total")]
    else:
        key = "stores" if scope.level == Level.STORE else "items"
        rows = []
        for moment, pairs in events.values_list("timestamp", f"row_breakdown__{key}"):
            rows += [(moment, i if key == "stores" else NONE, i if key == "items" else NONE, u) for i, u in pairs or ()]
    frame = selectors.event_codes_to_ids(pd.DataFrame(rows, columns=["moment", "store", "item", "units"]))
    # A batch's total is a Decimal (numeric units); the replay adds floats, as the evaluation does.
    frame["units"] = frame["units"].astype(float)
    if frame.empty:
        return frame.assign(day=[], minutes=[], actual=[])
    frame = selectors.scope_filter(frame, scope)
    local = frame["moment"].dt.tz_convert(timezone.get_current_timezone())
    frame = frame.assign(day=local.dt.date, minutes=((local.dt.hour * 60 + local.dt.minute) // 15 + 1) * 15)
    frame = frame.groupby(["day", "minutes", "store", "item"], as_index=False)["units"].sum()
    return _quarter_hours_filled(frame, end=end)


def _quarter_hours_filled(frame: pd.DataFrame, *, end: datetime) -> pd.DataFrame:
    """Every quarter hour of each day with batches (up to `end` today), so that a feed that stops shows
    as sales standing still while the expectation grows: the day's sales so far at each."""
    parts = []
    for (day, store, item), part in frame.groupby(["day", "store", "item"]):
        last = 24 * 60
        if day == timezone.localdate(end):
            local = timezone.localtime(end)
            last = (local.hour * 60 + local.minute) // 15 * 15
        grid = pd.Series(0.0, index=range(15, last + 1, 15))
        units = part.set_index("minutes")["units"].groupby(level=0).sum()
        grid = grid.add(units.reindex(grid.index, fill_value=0), fill_value=0).cumsum()
        parts.append(
            pd.DataFrame({"day": day, "minutes": grid.index, "store": store, "item": item, "actual": grid.to_numpy()})
        )
    return pd.concat(parts, ignore_index=True) if parts else frame.assign(actual=[])


def _judged(rule: Rule, *, daily, batches, batch_days, forecast, curves) -> pd.DataFrame:
    """The rule's condition at every moment: the batch replay's quarter hours, and day ends elsewhere."""
    daily = daily[~daily["day"].isin(batch_days)].assign(minutes=24 * 60, mode=MODE_DAILY)
    frame = pd.concat([batches.assign(mode=MODE_BATCHES), daily], ignore_index=True)
    if frame.empty:
        return frame
    frame = frame.merge(forecast, how="left", on=["day", "store", "item"])
    if curves is None:  # daily totals only: the whole day
        frame["pace"] = 1.0
    else:
        share = {int(s): curves.of(int(s)) for s in frame["store"].unique()}
        by_store = rule.level in (Level.STORE, Level.STORE_ITEM)
        frame["pace"] = [
            (share[s] if by_store else curves.total).share(m)
            for s, m in zip(frame["store"], frame["minutes"], strict=True)
        ]
    frame["curve"] = ""
    frame["actual"] = frame["actual"].astype(float)
    return evaluation.bounds_apply(frame, rule)


def _no_data_replay(rule: Rule, *, scope: Scope, first: date, now: datetime) -> pd.DataFrame:
    """Quarter hours (within opening hours) that began N intervals or more after the scope's last batch."""
    batches = _batch_replay(
        scope=Scope(scope.level if scope.level != Level.STORE_ITEM else Level.STORE, scope.store, None),
        start=_midnight(first),
        end=now,
    )
    window = settings.STREAMING_INTERVAL_SECONDS * (rule.no_data_intervals or 1) / 60
    opens, closes = (
        selectors.opening_hours().get(scope.store, settings.ALERTS_OPENING_HOURS)
        if scope.store
        else settings.ALERTS_OPENING_HOURS
    )
    rows = []
    seen = {(d, m) for d, m in zip(batches.get("day", []), batches.get("minutes", []), strict=True)}
    day = first
    while day <= timezone.localdate(now):
        last_seen = None
        for minutes in range(15, 24 * 60 + 1, 15):
            if _midnight(day) + timedelta(minutes=minutes) > now:
                break
            if (day, minutes) in seen:
                last_seen = minutes
            quiet = minutes - (last_seen if last_seen is not None else opens)
            held = opens + window <= minutes <= closes and quiet >= window
            rows.append((day, minutes, scope.store or NONE, NONE, 0.0 if held else 1.0, held, MODE_BATCHES))
        day += timedelta(days=1)
    return pd.DataFrame(rows, columns=["day", "minutes", "store", "item", "actual", "held", "mode"]).assign(
        expected=np.nan, lower=np.nan, upper=np.nan
    )


def _points(frame: pd.DataFrame, *, rule: Rule) -> tuple[list[dict], int]:
    """Points oldest first, with `firing` where the condition has held for the pending period."""
    if frame.empty:
        return [], 0
    frame = frame.sort_values(["store", "item", "day", "minutes"]).reset_index(drop=True)
    frame["at"] = [
        _midnight(d) + timedelta(minutes=int(m)) for d, m in zip(frame["day"], frame["minutes"], strict=True)
    ]
    frame["held"] = frame["held"].astype(bool) & frame.get("error", pd.Series("", index=frame.index)).eq("")
    # A run of held moments per series starts after each moment that did not hold; firing once it is
    # pending_seconds long.
    block = (~frame["held"]).groupby([frame["store"], frame["item"]]).cumsum()
    held_at = frame["at"].where(frame["held"])
    run_start = held_at.groupby([frame["store"], frame["item"], block]).transform("min")
    pending = pd.Timedelta(seconds=rule.pending_seconds)
    frame["firing"] = frame["held"] & ((frame["at"] - run_start) >= pending)
    if rule.per_series:
        grouped = frame.groupby(["at", "mode"], as_index=False).agg(
            series=("held", "size"), held=("held", "sum"), firing=("firing", "sum")
        )
        points = [
            {
                "at": r.at.isoformat(),
                "mode": r.mode,
                "series": int(r.series),
                "held": int(r.held),
                "firing": int(r.firing),
            }
            for r in grouped.sort_values("at").itertuples()
        ]
        return points, int((grouped["firing"] > 0).sum())
    frame = frame.sort_values("at")
    points = [
        {
            "at": r.at.isoformat(),
            "mode": r.mode,
            "actual": _num(r.actual),
            "expected": _num(r.expected),
            "lower": _num(r.lower),
            "upper": _num(r.upper),
            "held": bool(r.held),
            "firing": bool(r.firing),
        }
        for r in frame.itertuples()
    ]
    return points, int(frame["firing"].sum())


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 2)
