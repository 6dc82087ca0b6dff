"""The numbers of an evaluation, free of the database: a rule's figures per series, the condition,
and the next state of every series, all as whole-column operations (a rule over every store-item
judges some 30,000 series per batch).

A figures frame has one row per series: store, item (-1 where the level has none), actual (units so far
today, or in the no-data window), expected, lower, upper (paced), pace (share of the day's sales usually
made by now), curve (which pace curve), error (why the series cannot be judged, "" when it can).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from alerts.models import Rule, State

FIRING = (State.ALERTING, State.NO_DATA, State.ERROR)


def bounds_apply(frame: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    """Paced expectation and bounds of the rule's condition from the day's forecast columns, and the
    condition itself (`held`). Works on forecast_interval, forecast_percent and threshold rules."""
    frame = frame.copy()
    pace = frame["pace"].to_numpy(dtype=float)
    if rule.condition == Rule.Condition.THRESHOLD:
        frame["expected"] = np.nan
        frame["lower"] = frame["upper"] = float(rule.threshold or 0.0)
        frame["error"] = ""
    else:
        expected = frame["expected"].to_numpy(dtype=float) * pace
        if rule.condition == Rule.Condition.FORECAST_INTERVAL:
            width = 95 if rule.interval == 95 else 80
            lower = frame[f"lower_{width}"].to_numpy(dtype=float) * pace
            upper = frame[f"upper_{width}"].to_numpy(dtype=float) * pace
        else:
            share = float(rule.percent or 0.0) / 100.0
            lower, upper = expected * (1.0 - share), expected * (1.0 + share)
        frame["expected"], frame["lower"], frame["upper"] = expected, lower, upper
        frame["error"] = np.where(np.isnan(expected), "no forecast for this series today", "")
    actual = frame["actual"].to_numpy(dtype=float)
    if rule.direction == Rule.Direction.BELOW:
        frame["held"] = actual < frame["lower"].to_numpy(dtype=float)
    else:
        frame["held"] = actual > frame["upper"].to_numpy(dtype=float)
    return frame


@dataclass(frozen=True)
class Timing:
    now: datetime
    pending: timedelta
    firing_state: str


def states_next(frame: pd.DataFrame, timing: Timing) -> pd.DataFrame:
    """Add `new_state` and `new_pending_since` to a frame with `held`, `error`, `state` (the current one,
    Normal for a series without a row) and `pending_since` (NaT when not held before):

    - a series that cannot be judged is Error;
    - the condition starts holding: Pending from now, or firing at once without a pending period;
    - it has held for the pending period: firing (Alerting, or NoData for a no-data rule);
    - it stops holding (or the series can be judged again): Normal."""
    state = frame["state"].to_numpy(dtype=object)
    held = frame["held"].to_numpy(dtype=bool)
    error = frame["error"].to_numpy(dtype=object) != ""
    # Microseconds: a column of nothing but NaT would otherwise be seconds, and refuse a batch's timestamp.
    since = pd.to_datetime(frame["pending_since"], utc=True).astype("datetime64[us, UTC]")
    new = state.copy()
    pending_since = since.copy()
    new[error] = State.ERROR
    judged = ~error
    starting = judged & held & np.isin(state, [State.NORMAL, State.ERROR])
    pending_since[starting] = pd.Timestamp(timing.now)
    elapsed = (pd.Timestamp(timing.now) - pending_since).to_numpy() >= np.timedelta64(timing.pending)
    to_fire = judged & held & np.isin(state, [State.NORMAL, State.ERROR, State.PENDING]) & elapsed
    new[starting & ~to_fire] = State.PENDING
    new[to_fire] = timing.firing_state
    clearing = judged & ~held & (state != State.NORMAL)
    new[clearing] = State.NORMAL
    pending_since[clearing | error] = pd.NaT
    frame = frame.assign(new_state=new)
    frame["new_pending_since"] = pending_since.to_numpy()
    return frame


def series_label(*, store: str | None, item: str | None, node: str | None = None, level: str = "") -> str:
    """How a series is named to a person: by its codes ("store CA_1 item FOODS_3_090", "region CA"), or "total"."""
    parts = [f"store {store}"] if store is not None else []
    parts += [f"item {item}"] if item is not None else []
    parts += [f"{level} {node}"] if node is not None else []
    return " ".join(parts) or "total"


def units_text(value: float) -> str:
    """Units as a person reads them: 1,234 for whole units, 2.474 (kilograms, dollars) to the history's
    three decimals, without trailing zeros."""
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def change_message(row, rule: Rule, *, label: str) -> str:
    """One line a person reads: what the series (named `label`) did against what was expected."""
    if row.new_state == State.ERROR:
        return f"{label}: {row.error}"
    if rule.condition == Rule.Condition.NO_DATA:
        if row.new_state == State.NO_DATA:
            return f"{label}: no sales recorded for {rule.no_data_intervals} intervals"
        return f"{label}: sales recorded again ({units_text(row.actual)} units)"
    bound = row.lower if rule.direction == Rule.Direction.BELOW else row.upper
    text = f"{label}: {units_text(row.actual)} so far, {rule.direction} {bound:,.0f}"
    if not np.isnan(row.expected):
        off = (row.actual / row.expected - 1.0) * 100 if row.expected else 0.0
        text += f" (expected {row.expected:,.0f}, {off:+.0f} %; {row.pace:.0%} of the day by {row.curve})"
    return text
