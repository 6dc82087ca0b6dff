"""Writes of the alerts: evaluating the rules (on every live batch, and on a schedule for no-data rules),
recording every state change, writing the notifications into the outbox and delivering them, and
managing rules, contact points and silences.

Once per state change: evaluations run one at a time (a transaction-level advisory lock), a change is
unique on (rule, series, seq) and a notification on its idempotency key, and both are written in the
evaluation's transaction. A notification is delivered by the worker that locks its row (the others skip
it), so two workers, a redelivered task or the outbox sweep never send it twice; a crash between the
receiver's answer and the commit sends it again with the same key (at least once over the network).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from alerts import delivery, evaluation, selectors
from alerts.models import (
    NODE_LEVELS,
    AlertState,
    ContactPoint,
    DeliveryAttempt,
    Level,
    Notification,
    Rule,
    Silence,
    State,
    StateChange,
)
from alerts.selectors import NONE, Scope
from sales.models import Item, Store
from sales.selectors import codes_of

logger = logging.getLogger(__name__)

_EVALUATION_LOCK = 0xA1E27
# A series: its store, item and node (region, category or department by the rule's level), NONE where it has none.
SERIES_KEY = ["store", "item", "node"]
# Series listed in one notification; the rest are counted.
NOTIFY_SERIES_MAX = 50


@dataclass
class EvaluationSummary:
    rules: int = 0
    series: int = 0
    changes: int = 0
    notifications: list[int] = field(default_factory=list)


def alerts_evaluate(*, now: datetime, event_id: int | None = None, no_data_only: bool = False) -> EvaluationSummary:
    """Judge every enabled rule (only the no-data ones with `no_data_only`) at `now`: the time of the
    batch that triggered it, or of the scheduled run. Records state changes and writes their
    notifications (the caller queues their delivery: alerts.tasks). Returns what it did, the ids of
    the notifications to deliver among it."""
    rules = Rule.objects.filter(enabled=True).prefetch_related("contact_points").order_by("id")
    if no_data_only:
        rules = rules.filter(condition=Rule.Condition.NO_DATA)
    summary = EvaluationSummary()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_EVALUATION_LOCK])
        silences = selectors.silences_active(now=now)
        for rule in rules:
            if not _rule_active(rule, now=now):
                continue
            figures = _figures_safe(rule, now=now)
            summary.rules += 1
            summary.series += len(figures)
            changes, notifications = _transitions_record(rule, figures, now=now, event_id=event_id, silences=silences)
            summary.changes += changes
            summary.notifications += notifications
    return summary


def _rule_active(rule: Rule, *, now: datetime) -> bool:
    """Within the rule's active hours (TIME_ZONE; a span may cross midnight)."""
    if rule.active_from is None or rule.active_to is None:
        return True
    moment = timezone.localtime(now).time()
    if rule.active_from <= rule.active_to:
        return rule.active_from <= moment < rule.active_to
    return moment >= rule.active_from or moment < rule.active_to


def _figures_safe(rule: Rule, *, now: datetime) -> pd.DataFrame:
    """The rule's figures; a rule that cannot be read (a bug, a broken forecast) is one Error series."""
    try:
        return rule_figures(rule, now=now)
    except Exception as error:
        logger.exception("alerts rule figures failed", extra={"rule": rule.pk})
        store = rule.store_id if rule.store_id is not None else NONE
        item = rule.item_id if rule.item_id is not None else NONE
        node = rule.node_id if rule.node_id is not None else NONE
        return pd.DataFrame(
            {
                "store": [store],
                "item": [item],
                "node": [node],
                "actual": [np.nan],
                "expected": [np.nan],
                "lower": [np.nan],
                "upper": [np.nan],
                "pace": [np.nan],
                "curve": [""],
                "held": [False],
                "error": [f"{type(error).__name__}: {error}"],
            }
        )


def rule_figures(rule: Rule, *, now: datetime) -> pd.DataFrame:
    """Every series of the rule at `now`, with its figures and whether the condition holds (see
    alerts.evaluation for the columns)."""
    if rule.condition == Rule.Condition.NO_DATA:
        return _no_data_figures(rule, now=now)
    scope = Scope.of(rule)
    day = timezone.localdate(now)
    local = timezone.localtime(now)
    minutes = local.hour * 60 + local.minute + local.second / 60
    if scope.level in NODE_LEVELS:
        return evaluation.bounds_apply(_node_figures(scope, day=day, minutes=minutes), rule)
    actual = selectors.actuals_today(scope=scope, day=day)
    actual = selectors.scope_filter(actual, scope)
    forecast = selectors.scope_filter(selectors.forecast_of_day(level=rule.level, day=day), scope)
    # Every series with a forecast or with sales today; a rule over one series judges it either way (and
    # finds it in Error without a forecast). Not every store or item ever named: most have neither.
    known = [] if rule.per_series else [selectors.series_universe(scope=scope)]
    keys = pd.concat([*known, forecast[["store", "item"]], actual[["store", "item"]]])
    frame = (
        keys.drop_duplicates()
        .merge(forecast, how="left", on=["store", "item"])
        .merge(actual, how="left", on=["store", "item"])
    )
    frame["actual"] = frame["actual"].fillna(0).astype(float)
    frame = _paced(
        frame,
        day_curves=selectors.pace_curves(day=day),
        minutes=minutes,
        by_store=rule.level in (Level.STORE, Level.STORE_ITEM),
    )
    return evaluation.bounds_apply(frame.assign(node=NONE), rule)


def _node_figures(scope: Scope, *, day, minutes: float) -> pd.DataFrame:
    """A node's figures from its children's (stores for a region, items for a category or a department):
    sales so far add up, and so do the forecasts' means and their bounds (the sum of the children's bounds:
    wider than the node's own interval unless the children move together, so a node fires less readily
    than its children do). The pace is the children's, weighted by their expectations, so that the paced
    expectation is the sum of the children's paced ones. A node none of whose children has a forecast
    today is in Error; children without one add their sales but no expectation."""
    child = Scope(level=scope.children, store=None, item=None)
    actual = selectors.actuals_today(scope=child, day=day)
    forecast = selectors.forecast_of_day(level=child.level, day=day)
    frame = (
        pd.concat([forecast[["store", "item"]], actual[["store", "item"]]])
        .drop_duplicates()
        .merge(forecast, how="left", on=["store", "item"])
        .merge(actual, how="left", on=["store", "item"])
    )
    frame["actual"] = frame["actual"].fillna(0).astype(float)
    frame = _paced(
        frame, day_curves=selectors.pace_curves(day=day), minutes=minutes, by_store=child.level == Level.STORE
    )
    frame = selectors.children_to_nodes(frame.assign(weighted=frame["expected"] * frame["pace"]), scope=scope)
    bounds = ["expected", "lower_80", "upper_80", "lower_95", "upper_95", "weighted"]
    grouped = frame.groupby("node").agg(
        actual=("actual", "sum"),
        **{column: (column, lambda values: values.sum(min_count=1)) for column in bounds},
        curve=("curve", lambda kinds: kinds.iloc[0] if (kinds == kinds.iloc[0]).all() else "per store (mixed curves)"),
    )
    # Nodes of the scope with neither children's sales nor forecasts today: nothing sold, and in Error.
    nodes = pd.Index(selectors.nodes_of(scope=scope) if scope.node is not None else grouped.index, name="node")
    grouped = grouped.reindex(nodes.union(grouped.index))
    grouped["actual"] = grouped["actual"].fillna(0.0)
    grouped["pace"] = (grouped["weighted"] / grouped["expected"]).where(grouped["expected"] > 0, float("nan"))
    grouped["pace"] = grouped["pace"].fillna(selectors.pace_curves(day=day).total.share(minutes))
    grouped["curve"] = (
        grouped["curve"].astype(object).where(grouped["curve"].notna(), selectors.pace_curves(day=day).total.kind)
    )
    return grouped.reset_index().assign(store=NONE, item=NONE).drop(columns=["weighted"])


def _paced(frame: pd.DataFrame, *, day_curves: selectors.PaceCurves, minutes: float, by_store: bool) -> pd.DataFrame:
    """Add `pace` and `curve`: the store's curve for stores and store-items, all stores' for the rest."""
    if not by_store:
        return frame.assign(pace=day_curves.total.share(minutes), curve=day_curves.total.kind)
    stores = frame["store"].unique()
    shares = {int(s): day_curves.of(int(s)).share(minutes) for s in stores}
    kinds = {int(s): day_curves.of(int(s)).kind for s in stores}
    return frame.assign(pace=frame["store"].map(shares).astype(float), curve=frame["store"].map(kinds))


def _no_data_figures(rule: Rule, *, now: datetime) -> pd.DataFrame:
    """Units per series in the last N intervals; the condition holds where there were none and the whole
    window lies within the series' opening hours and after the rule was made."""
    scope = Scope.of(rule)
    window = timedelta(seconds=settings.STREAMING_INTERVAL_SECONDS * (rule.no_data_intervals or 1))
    start = now - window
    frame = _units_seen(scope, start=start, now=now)
    hours = selectors.opening_hours()
    local_start, local_now = timezone.localtime(start), timezone.localtime(now)
    same_day = local_start.date() == local_now.date()
    start_minutes = local_start.hour * 60 + local_start.minute
    now_minutes = local_now.hour * 60 + local_now.minute + local_now.second / 60
    default = settings.ALERTS_OPENING_HOURS
    # Whole columns: a rule over every store-item maps some 30,000 rows.
    opens = frame["store"].map({s: o for s, (o, _) in hours.items()}).fillna(default[0]).astype(float)
    closes = frame["store"].map({s: c for s, (_, c) in hours.items()}).fillna(default[1]).astype(float)
    within = same_day & (opens <= start_minutes) & (now_minutes <= closes)
    frame["held"] = (frame["actual"] <= 0) & within & (rule.created_at <= start)
    frame = frame.assign(expected=np.nan, lower=np.nan, upper=np.nan, pace=np.nan, curve="", error="")
    return frame


def _units_seen(scope: Scope, *, start: datetime, now: datetime) -> pd.DataFrame:
    """Units of every series of the scope in (start, now], those that sent nothing included (every
    store-item of the history; every node of a level, its children's batches added up). A node is
    judged on the default opening hours (its stores may keep several)."""
    if scope.level not in NODE_LEVELS:
        seen = selectors.series_seen(scope=scope, start=start, end=now)
        keys = pd.concat([selectors.series_universe_no_data(scope=scope), seen[["store", "item"]]]).drop_duplicates()
        frame = keys.merge(seen, how="left", on=["store", "item"]).assign(node=NONE)
    else:
        children = selectors.series_seen(scope=Scope(level=scope.children, store=None, item=None), start=start, end=now)
        seen = selectors.children_to_nodes(children, scope=scope).groupby("node", as_index=False)["actual"].sum()
        frame = pd.DataFrame({"node": selectors.nodes_of(scope=scope)}, dtype="int64").merge(
            seen, how="left", on="node"
        )
        frame = frame.assign(store=NONE, item=NONE)
    frame["actual"] = frame["actual"].fillna(0).astype(float)
    return frame


# ---------------------------------------------------------------- state changes


def _states_of(rule: Rule) -> pd.DataFrame:
    columns = ["state_id", "store", "item", "node", "state", "pending_since", "seq", "last_change_id", "notified_at"]
    rows = AlertState.objects.filter(rule=rule).values_list(
        "id", "store_id", "item_id", "node_id", "state", "pending_since", "seq", "last_change_id", "notified_at"
    )
    frame = pd.DataFrame(list(rows), columns=columns)
    for key in SERIES_KEY:
        frame[key] = frame[key].fillna(NONE).astype("int64")
    return frame


def _transitions_record(
    rule: Rule, figures: pd.DataFrame, *, now: datetime, event_id: int | None, silences: list[Silence]
) -> tuple[int, list[int]]:
    """Move every series of the rule to its next state, record the changes and write the notifications
    (firing, resolved, repeat). Returns (changes recorded, ids of notifications to deliver)."""
    frame = figures.astype({key: "int64" for key in SERIES_KEY}).merge(_states_of(rule), how="left", on=SERIES_KEY)
    frame["state"] = frame["state"].fillna(State.NORMAL)
    frame["seq"] = frame["seq"].fillna(0).astype("int64")
    firing_state = State.NO_DATA if rule.condition == Rule.Condition.NO_DATA else State.ALERTING
    timing = evaluation.Timing(now=now, pending=timedelta(seconds=rule.pending_seconds), firing_state=firing_state)
    frame = evaluation.states_next(frame, timing)
    changed = frame[frame["new_state"] != frame["state"]]
    changes = _changes_write(rule, changed, now=now, event_id=event_id, silences=silences)
    repeat = _repeats_due(rule, frame, now=now)
    notified = _notifications_write(rule, changes, repeat, now=now)
    _states_write(rule, changes, notified=notified, now=now)
    return len(changes), notified.notification_ids


def _changes_write(
    rule: Rule, changed: pd.DataFrame, *, now: datetime, event_id: int | None, silences: list[Silence]
) -> list[StateChange]:
    def number(value) -> float | None:
        return None if value is None or (isinstance(value, float) and np.isnan(value)) else round(float(value), 3)

    rows = []
    for row, (store, item, node), codes in zip(
        changed.itertuples(index=False), _series_ids(changed), _series_codes(rule, changed), strict=True
    ):
        silence = selectors.silence_of(silences=silences, rule_id=rule.pk, store=store, item=item)
        change = StateChange(
            rule=rule,
            store_id=store,
            item_id=item,
            node_id=node,
            seq=int(row.seq) + 1,
            at=now,
            from_state=row.state,
            to_state=row.new_state,
            actual=number(row.actual),
            expected=number(row.expected),
            lower=number(row.lower),
            upper=number(row.upper),
            pace=number(row.pace),
            curve=row.curve or "",
            message=evaluation.change_message(row, rule, label=evaluation.series_label(**codes, level=rule.level)),
            silenced_by=silence,
            event_id=event_id,
        )
        change.pending_since = row.new_pending_since  # carried to the state row, not a column
        change.store_code, change.item_code, change.node_code = codes["store"], codes["item"], codes["node"]
        rows.append(change)
    # Unique on (rule, series, seq): a second writer of the same change fails here instead of sending twice.
    columns = ["rule_id", "store_id", "item_id", "node_id", "seq", "at", "from_state", "to_state", "actual"]
    columns += ["expected", "lower", "upper", "pace", "curve", "message", "silenced_by_id", "event_id"]
    inserted = rows_insert(
        StateChange,
        [{column: getattr(change, column) for column in columns} for change in rows],
        returning=["store_id", "item_id", "node_id", "id"],
    )
    ids = {(store, item, node): pk for store, item, node, pk in inserted}
    for change in rows:
        change.pk = ids[(change.store_id, change.item_id, change.node_id)]
        change._state.adding, change._state.db = False, "default"
    return rows


def rows_insert(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    conflict: list[str] | None = None,
    update: list[str] | None = None,
    returning: list[str] | None = None,
) -> list[tuple]:
    """Insert `rows` (column -> value, the same columns in each) in one statement that takes them as one JSON
    document (json_to_recordset), upserting on `conflict` (updating `update`) if given; returns the
    `returning` columns of each row written. Django's bulk_create, like a parameter per value, prepares and
    quotes every value of every row in Python: seconds, when a rule over some 30,000 series changes them all."""
    if not rows:
        return []
    quote = connection.ops.quote_name
    fields = {field.column: field for field in model._meta.concrete_fields}
    columns = list(rows[0])
    names = ", ".join(map(quote, columns))
    record = ", ".join(f"{quote(column)} {fields[column].db_type(connection)}" for column in columns)
    query = f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT {names} FROM json_to_recordset(%s::json) AS r({record})"
    if conflict:
        assignments = ", ".join(f"{quote(column)} = EXCLUDED.{quote(column)}" for column in update or [])
        query += f" ON CONFLICT ({', '.join(map(quote, conflict))}) DO UPDATE SET {assignments}"
    if returning:
        query += f" RETURNING {', '.join(map(quote, returning))}"
    # Datetimes as ISO 8601 with their offset (timestamptz reads them back exactly).
    document = json.dumps(rows, default=lambda value: value.isoformat())
    with connection.cursor() as cursor:
        cursor.execute(query, [document])
        return cursor.fetchall() if returning else []


def _series_ids(frame: pd.DataFrame) -> list[tuple[int | None, int | None, int | None]]:
    """(store, item, node) of each row, None where the series has none."""
    columns = [[None if value == NONE else int(value) for value in frame[key]] for key in SERIES_KEY]
    return list(zip(*columns, strict=True))


def _series_codes(rule: Rule, frame: pd.DataFrame) -> list[dict[str, str | None]]:
    """{"store", "item", "node"} codes of each row (a node's is its region's, category's or department's)."""
    stores = codes_of(model=Store, ids={int(s) for s in frame["store"] if s != NONE})
    items = codes_of(model=Item, ids={int(i) for i in frame["item"] if i != NONE})
    nodes = (
        selectors.node_codes(level=rule.level, ids={int(n) for n in frame["node"] if n != NONE})
        if rule.level in NODE_LEVELS
        else {}
    )
    return [
        {
            "store": stores.get(store, str(store)) if store is not None else None,
            "item": items.get(item, str(item)) if item is not None else None,
            "node": nodes.get(node, str(node)) if node is not None else None,
        }
        for store, item, node in _series_ids(frame)
    ]


@dataclass
class _Notified:
    notification_ids: list[int] = field(default_factory=list)
    # Series (store, item, node) notified now: their state row's notified_at moves to now.
    series: set[tuple[int | None, int | None, int | None]] = field(default_factory=set)


def _repeats_due(rule: Rule, frame: pd.DataFrame, *, now: datetime) -> pd.DataFrame:
    """Firing series whose last notification is older than the rule's repeat interval."""
    if not rule.repeat_seconds:
        return frame.iloc[0:0]
    unchanged = frame[(frame["new_state"] == frame["state"]) & frame["state"].isin([State.ALERTING, State.NO_DATA])]
    notified = pd.to_datetime(unchanged["notified_at"], utc=True)
    return unchanged[notified.isna() | (notified <= pd.Timestamp(now) - pd.Timedelta(seconds=rule.repeat_seconds))]


def _notifications_write(rule: Rule, changes: list[StateChange], repeat: pd.DataFrame, *, now: datetime) -> _Notified:
    """One notification per kind and contact point for this evaluation's changes; silenced changes get
    theirs written as suppressed (so the history shows what a silence held back)."""
    notified = _Notified()
    points = list(rule.contact_points.all())
    firing = [c for c in changes if c.to_state in evaluation.FIRING]
    resolved = [c for c in changes if c.from_state in (State.ALERTING, State.NO_DATA) and c.to_state == State.NORMAL]
    groups: list[tuple[str, list[StateChange]]] = [(Notification.Kind.FIRING, firing)]
    groups += [(Notification.Kind.RESOLVED, resolved)] if rule.notify_resolved else []
    outbox = []
    for kind, group in groups:
        for silenced in (False, True):
            part = [c for c in group if (c.silenced_by_id is not None) == silenced]
            if not part:
                continue
            if not silenced:
                notified.series |= {
                    (c.store_id, c.item_id, c.node_id) for c in part if kind == Notification.Kind.FIRING
                }
            key = f"{kind}-r{rule.pk}-s{min(c.pk for c in part)}" + ("-muted" if silenced else "")
            outbox += [
                _notification(rule, point, kind=kind, key=key, changes=part, now=now, silenced=silenced)
                for point in points
            ]
    if len(repeat):
        outbox += _repeat_notifications(rule, repeat, points=points, now=now, notified=notified)
    created = Notification.objects.bulk_create(outbox)
    notified.notification_ids = [n.pk for n in created if n.status == Notification.Status.PENDING]
    return notified


def _repeat_notifications(
    rule: Rule, repeat: pd.DataFrame, *, points: list[ContactPoint], now: datetime, notified: _Notified
) -> list[Notification]:
    ids = [int(i) for i in repeat["last_change_id"].dropna()]
    changes = list(selectors.change_list().filter(id__in=ids, silenced_by__isnull=True))
    silences = selectors.silences_active(now=now)
    changes = [
        c
        for c in changes
        if selectors.silence_of(silences=silences, rule_id=rule.pk, store=c.store_id, item=c.item_id) is None
    ]
    if not changes:
        return []
    notified.series |= {(c.store_id, c.item_id, c.node_id) for c in changes}
    key = f"repeat-r{rule.pk}-s{min(c.pk for c in changes)}-t{int(now.timestamp())}"
    return [
        _notification(rule, point, kind=Notification.Kind.REPEAT, key=key, changes=changes, now=now) for point in points
    ]


def _notification(
    rule: Rule,
    point: ContactPoint,
    *,
    kind: str,
    key: str,
    changes: list[StateChange],
    now: datetime,
    silenced: bool = False,
) -> Notification:
    key = f"{key}-c{point.pk}"
    state = changes[0].to_state if kind != Notification.Kind.RESOLVED else State.NORMAL
    subject = f"[{kind.upper()}] {rule.name}: {len(changes)} series {state}"
    body: dict[str, Any] = {
        "idempotency_key": key,
        "kind": kind,
        "rule": {"id": rule.pk, "name": rule.name, "condition": rule.condition, "level": rule.level},
        "state": state,
        "at": now.isoformat(),
        "series_count": len(changes),
        "series": [_change_body(c) for c in changes[:NOTIFY_SERIES_MAX]],
    }
    return Notification(
        idempotency_key=key,
        rule=rule,
        contact_point=point,
        kind=kind,
        changes=[c.pk for c in changes],
        subject=subject[:200],
        body=body,
        status=Notification.Status.SUPPRESSED if silenced else Notification.Status.PENDING,
        next_attempt_at=now,
        created_at=now,
    )


def _change_body(change: StateChange) -> dict:
    return {
        "change_id": change.pk,
        "store": change.store_code,
        "item": change.item_code,
        "node": change.node_code,
        "from": change.from_state,
        "to": change.to_state,
        "actual": change.actual,
        "expected": change.expected,
        "lower": change.lower,
        "upper": change.upper,
        "pace": change.pace,
        "curve": change.curve,
        "message": change.message,
    }


def _states_write(rule: Rule, changes: list[StateChange], *, notified: _Notified, now: datetime) -> None:
    """Upsert the state rows of the changed series, and move notified_at of those notified again."""
    rows = [
        {
            "rule_id": rule.pk,
            "store_id": c.store_id,
            "item_id": c.item_id,
            "node_id": c.node_id,
            "state": c.to_state,
            "since": now,
            "pending_since": None if pd.isna(c.pending_since) else pd.Timestamp(c.pending_since).to_pydatetime(),
            "seq": c.seq,
            "last_change_id": c.pk,
            "notified_at": now if (c.store_id, c.item_id, c.node_id) in notified.series else None,
        }
        for c in changes
    ]
    rows_insert(
        AlertState,
        rows,
        conflict=["rule_id", "store_id", "item_id", "node_id"],
        update=["state", "since", "pending_since", "seq", "last_change_id", "notified_at"],
    )
    changed = {(c.store_id, c.item_id, c.node_id) for c in changes}
    again = [key for key in notified.series if key not in changed]
    if again:
        # NONE for "none": equality (a hash join) where IS NOT DISTINCT FROM would compare every pair.
        keys = [[NONE if value is None else value for value in column] for column in zip(*again, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE alerts_alertstate SET notified_at = %s FROM unnest(%s::int[], %s::int[], %s::int[]) AS k(s, i, n)"
                " WHERE rule_id = %s AND coalesce(store_id, -1) = k.s AND coalesce(item_id, -1) = k.i"
                " AND coalesce(node_id, -1) = k.n",
                [now, *keys, rule.pk],
            )


# ---------------------------------------------------------------- delivery


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of one delivery call: the notification's status afterwards, and when to retry
    (None unless it is still pending)."""

    status: str
    retry_in: float | None = None


def notification_deliver(*, notification_id: int) -> DeliveryOutcome | None:
    """Make one attempt at a pending notification that is due, log it, and update the notification and
    its contact point. None when there is nothing to do (sent already, or another worker holds it).
    The row stays locked during the attempt: that is what keeps two workers from both sending it."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("contact_point")
            .filter(pk=notification_id, status=Notification.Status.PENDING)
            .first()
        )
        if notification is None:
            return None
        now = timezone.now()
        if notification.next_attempt_at > now:
            return DeliveryOutcome(
                status=notification.status, retry_in=(notification.next_attempt_at - now).total_seconds()
            )
        started = time.monotonic()
        result = _send(notification)
        DeliveryAttempt.objects.create(
            notification=notification,
            at=now,
            ok=result.ok,
            status_code=result.status_code,
            error=result.error[:2000],
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return _outcome_record(notification, result, now=now)


def _send(notification: Notification) -> delivery.DeliveryResult:
    point = notification.contact_point
    try:
        if point.kind == ContactPoint.Kind.EMAIL:
            return delivery.email_send(
                addresses=point.addresses,
                key=notification.idempotency_key,
                subject=notification.subject,
                text=_text_of(notification),
            )
        url = delivery.secret_open(point.url_sealed)
        if point.kind == ContactPoint.Kind.SLACK:
            return delivery.slack_send(url=url, key=notification.idempotency_key, text=_text_of(notification))
        return delivery.webhook_send(
            url=url,
            signing_key=delivery.secret_open(point.signing_key_sealed),
            key=notification.idempotency_key,
            body=notification.body,
        )
    except delivery.DeliveryRefused as refused:
        return delivery.DeliveryResult(ok=False, error=f"refused: {refused}")


def _text_of(notification: Notification) -> str:
    lines = [notification.subject, ""]
    lines += [series["message"] for series in notification.body.get("series", [])]
    hidden = notification.body.get("series_count", 0) - len(notification.body.get("series", []))
    lines += [f"... and {hidden} more series"] if hidden > 0 else []
    lines += ["", f"idempotency key: {notification.idempotency_key}"]
    return "\n".join(lines)


def _outcome_record(notification: Notification, result: delivery.DeliveryResult, *, now: datetime) -> DeliveryOutcome:
    point = notification.contact_point
    notification.attempts += 1
    if result.ok:
        notification.status, notification.sent_at = Notification.Status.SENT, now
        point.failures, point.last_success_at = 0, now
        retry_in = None
    else:
        point.failures, point.last_failure_at, point.last_error = point.failures + 1, now, result.error[:2000]
        if notification.attempts >= settings.ALERTS_MAX_ATTEMPTS:
            notification.status, retry_in = Notification.Status.FAILED, None
        else:
            retry_in = settings.ALERTS_RETRY_BASE_MS / 1000 * 2 ** (notification.attempts - 1)
            notification.next_attempt_at = now + timedelta(seconds=retry_in)
    notification.save(update_fields=["attempts", "status", "sent_at", "next_attempt_at"])
    point.save(update_fields=["failures", "last_success_at", "last_failure_at", "last_error"])
    logger.info(
        "alerts delivery",
        extra={"notification": notification.pk, "ok": result.ok, "status": notification.status, "error": result.error},
    )
    return DeliveryOutcome(status=notification.status, retry_in=retry_in)


def notifications_due(*, now: datetime | None = None) -> list[int]:
    """Ids of the pending notifications whose next attempt is due (the outbox sweep queues them again)."""
    now = now or timezone.now()
    due = Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=now)
    return list(due.order_by("next_attempt_at").values_list("id", flat=True)[:1000])


# ---------------------------------------------------------------- rules, contact points, silences


def rule_save(*, rule: Rule | None = None, fields: dict, contact_points: list[ContactPoint] | None, user=None) -> Rule:
    """Create (rule=None) or update a rule from validated fields."""
    now = timezone.now()
    if rule is None:
        rule = Rule(created_at=now, created_by=user if user and user.is_authenticated else None)
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.updated_at = now
    with transaction.atomic():
        rule.save()
        if contact_points is not None:
            rule.contact_points.set(contact_points)
    return rule


def contact_point_save(
    *, point: ContactPoint | None = None, fields: dict, url: str | None, signing_key: str | None
) -> ContactPoint:
    """Create or update a contact point; `url` and `signing_key` are sealed (None: keep the stored one).
    Callers check the URL with delivery.webhook_url_check first."""
    point = point or ContactPoint()
    for name, value in fields.items():
        setattr(point, name, value)
    if url is not None:
        point.url_sealed = delivery.secret_seal(url)
    if signing_key is not None:
        point.signing_key_sealed = delivery.secret_seal(signing_key)
    point.save()
    return point


def contact_point_test(*, point: ContactPoint) -> DeliveryOutcome:
    """Send a test notification to `point` now (one attempt; retried like any other if it fails)."""
    now = timezone.now()
    key = f"test-c{point.pk}-t{int(now.timestamp() * 1000)}"
    body: dict[str, Any] = {
        "idempotency_key": key,
        "kind": "test",
        "rule": None,
        "state": "test",
        "at": now.isoformat(),
        "series_count": 0,
        "series": [],
        "message": f"test notification to contact point {point.name!r}",
    }
    notification = Notification.objects.create(
        idempotency_key=key,
        contact_point=point,
        kind=Notification.Kind.TEST,
        subject=f"[TEST] {point.name}",
        body=body,
        next_attempt_at=now,
        created_at=now,
    )
    outcome = notification_deliver(notification_id=notification.pk)
    return outcome or DeliveryOutcome(status=Notification.Status.PENDING)


def silence_create(*, fields: dict, user=None) -> Silence:
    fields = {"starts_at": timezone.now(), **fields}
    return Silence.objects.create(created_by=user if user and user.is_authenticated else None, **fields)


def silence_end(*, silence: Silence) -> Silence:
    """End a silence now (kept for the record)."""
    silence.ends_at = min(silence.ends_at, timezone.now())
    silence.save(update_fields=["ends_at"])
    return silence
