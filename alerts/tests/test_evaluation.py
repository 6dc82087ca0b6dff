"""Rules judged on real sales recorded through the stream's write path, against a day's forecast."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import services
from alerts.models import AlertState, Notification, Rule, State, StateChange
from alerts.tests.conftest import DAY, NOON
from alerts.tests.helpers import forecast_write
from streaming.services import sales_ingest

pytestmark = pytest.mark.django_db


def _rule(**fields) -> Rule:
    now = timezone.now()
    defaults = {"name": "rule", "created_at": now - timedelta(hours=1), "updated_at": now}
    return Rule.objects.create(**{**defaults, **fields})


def _states(rule: Rule) -> dict:
    return {(s.store_id, s.item_id): s.state for s in AlertState.objects.filter(rule=rule)}


def test_a_drop_fires_after_the_pending_period_not_before(shop, clock):
    forecast_write(day=DAY, level="store", series={(1, None): 1000.0, (2, None): 1000.0})
    rule = _rule(
        level="store", store_id=1, condition="forecast_percent", direction="below", percent=30, pending_seconds=300
    )
    # At noon with the whole-day default hours half the day's 1,000 is expected: 100 is far under 70 % of 500.
    sales_ingest(rows=[(1, 1, 100), (2, 1, 600)], timestamp=NOON)
    services.alerts_evaluate(now=NOON)
    assert _states(rule) == {(1, None): State.PENDING}
    clock.move_to(NOON + timedelta(minutes=4, seconds=59))
    services.alerts_evaluate(now=timezone.now())
    assert _states(rule) == {(1, None): State.PENDING}
    clock.move_to(NOON + timedelta(minutes=5))
    services.alerts_evaluate(now=timezone.now())
    assert _states(rule) == {(1, None): State.ALERTING}
    change = StateChange.objects.get(rule=rule, to_state=State.ALERTING)
    # The figures that caused it: 100 so far; 1,000 x 12h05/24h expected, bound 70 % of that.
    pace = (12 * 60 + 5) / (24 * 60)
    assert change.actual == 100
    assert change.expected == pytest.approx(1000 * pace, rel=1e-3)
    assert change.lower == pytest.approx(700 * pace, rel=1e-3)
    assert change.curve == "opening hours"
    # Back within the bound: Normal again, every change recorded in order.
    sales_ingest(rows=[(1, 2, 300)], timestamp=timezone.now())
    services.alerts_evaluate(now=timezone.now())
    assert _states(rule) == {(1, None): State.NORMAL}
    path = list(StateChange.objects.filter(rule=rule).order_by("seq").values_list("from_state", "to_state"))
    assert path == [("Normal", "Pending"), ("Pending", "Alerting"), ("Alerting", "Normal")]


def test_every_store_item_gets_one_state_per_series(shop, clock):
    series = {(s, i): 240.0 for s in (1, 2) for i in (1, 2, 3)}
    forecast_write(day=DAY, level="store_item", series=series)
    rule = _rule(level="store_item", condition="forecast_interval", direction="below", interval=80)
    # Expected by noon: 120, 80 % lower bound 96. Store 1 item 1 and store 2 item 3 sold too little.
    rows = [(s, i, 50 if (s, i) in {(1, 1), (2, 3)} else 130) for s in (1, 2) for i in (1, 2, 3)]
    sales_ingest(rows=rows, timestamp=NOON)
    summary = services.alerts_evaluate(now=NOON)
    assert summary.series == 6
    assert _states(rule) == {(1, 1): State.ALERTING, (2, 3): State.ALERTING}


def test_above_the_95_interval_and_a_fixed_threshold(shop, clock):
    forecast_write(day=DAY, level="total", series={(None, None): 1000.0})
    above = _rule(level="total", condition="forecast_interval", direction="above", interval=95)
    threshold = _rule(level="item", item_id=2, condition="threshold", direction="above", threshold=500)
    sales_ingest(rows=[(1, 2, 800)], timestamp=NOON)
    services.alerts_evaluate(now=NOON)
    # 95 % upper bound paced: 1,400 x 0.5 = 700 < 800; item 2's 800 > 500.
    assert _states(above) == {(None, None): State.ALERTING}
    assert _states(threshold) == {(None, 2): State.ALERTING}


def test_a_series_without_a_forecast_is_in_error(shop, clock):
    rule = _rule(level="store", store_id=2, condition="forecast_interval", direction="below")
    services.alerts_evaluate(now=NOON)
    assert _states(rule) == {(2, None): State.ERROR}
    assert "no forecast" in StateChange.objects.get(rule=rule).message


def test_a_store_whose_ingest_stops_gets_no_data_then_a_resolved_notice(shop, clock, settings):
    from alerts.models import ContactPoint

    point = ContactPoint.objects.create(name="ops", kind="email", addresses=["ops@example.com"])
    rule = _rule(level="store", store_id=1, condition="no_data", no_data_intervals=3)
    rule.contact_points.add(point)
    interval = timedelta(seconds=settings.STREAMING_INTERVAL_SECONDS)
    moment = NOON
    for _ in range(3):
        sales_ingest(rows=[(1, 1, 2)], timestamp=moment)
        services.alerts_evaluate(now=moment)
        moment += interval
    last = moment - interval
    # Nothing after `last`: not yet after two quiet intervals, NoData after three.
    for quiet in (1, 2, 3):
        clock.move_to(last + quiet * interval)
        services.alerts_evaluate(now=timezone.now(), no_data_only=True)
        assert _states(rule) == ({(1, None): State.NO_DATA} if quiet == 3 else {})
    # Store 2 selling does not help store 1.
    sales_ingest(rows=[(2, 1, 5)], timestamp=timezone.now())
    services.alerts_evaluate(now=timezone.now())
    assert _states(rule) == {(1, None): State.NO_DATA}
    sales_ingest(rows=[(1, 3, 1)], timestamp=timezone.now())
    services.alerts_evaluate(now=timezone.now())
    assert _states(rule) == {(1, None): State.NORMAL}
    kinds = list(Notification.objects.filter(rule=rule).order_by("id").values_list("kind", flat=True))
    assert kinds == ["firing", "resolved"]


def test_a_silence_suppresses_the_notification_but_records_the_change(shop, clock):
    from alerts.models import ContactPoint, Silence

    point = ContactPoint.objects.create(name="ops", kind="email", addresses=["ops@example.com"])
    rule = _rule(level="store", condition="threshold", direction="above", threshold=10)
    rule.contact_points.add(point)
    silence = Silence.objects.create(store_id=2, starts_at=NOON - timedelta(hours=1), ends_at=NOON + timedelta(hours=1))
    sales_ingest(rows=[(1, 1, 20), (2, 1, 20)], timestamp=NOON)
    services.alerts_evaluate(now=NOON)
    assert _states(rule) == {(1, None): State.ALERTING, (2, None): State.ALERTING}
    assert StateChange.objects.get(rule=rule, store_id=2).silenced_by == silence
    statuses = {n.status: n.changes for n in Notification.objects.filter(rule=rule)}
    assert set(statuses) == {"pending", "suppressed"}
    store_of = dict(StateChange.objects.filter(rule=rule).values_list("id", "store_id"))
    assert [store_of[c] for c in statuses["suppressed"]] == [2]
    assert [store_of[c] for c in statuses["pending"]] == [1]


def test_evaluating_twice_at_the_same_moment_changes_nothing_twice(shop, clock):
    rule = _rule(level="total", condition="threshold", direction="above", threshold=1)
    sales_ingest(rows=[(1, 1, 20)], timestamp=NOON)
    first = services.alerts_evaluate(now=NOON)
    second = services.alerts_evaluate(now=NOON)
    assert (first.changes, second.changes) == (1, 0)
    assert StateChange.objects.filter(rule=rule).count() == 1


def test_repeat_interval_notifies_again_while_firing(shop, clock):
    from alerts.models import ContactPoint

    point = ContactPoint.objects.create(name="ops", kind="email", addresses=["ops@example.com"])
    rule = _rule(level="total", condition="threshold", direction="above", threshold=1, repeat_seconds=600)
    rule.contact_points.add(point)
    sales_ingest(rows=[(1, 1, 20)], timestamp=NOON)
    services.alerts_evaluate(now=NOON)
    for minutes in (5, 10):
        clock.move_to(NOON + timedelta(minutes=minutes))
        services.alerts_evaluate(now=timezone.now())
    kinds = list(Notification.objects.filter(rule=rule).order_by("id").values_list("kind", flat=True))
    assert kinds == ["firing", "repeat"]


def test_a_batch_timestamp_with_microseconds_is_judged(shop, clock):
    rule = _rule(level="store", store_id=1, condition="threshold", direction="above", threshold=0, pending_seconds=60)
    moment = NOON + timedelta(microseconds=628404)
    sales_ingest(rows=[(1, 1, 2)], timestamp=moment)
    services.alerts_evaluate(now=moment)
    assert _states(rule) == {(1, None): State.PENDING}
    services.alerts_evaluate(now=moment + timedelta(seconds=60, microseconds=1))
    assert _states(rule) == {(1, None): State.ALERTING}


@pytest.mark.parametrize("on", [True, False])
def test_no_data_counts_generated_batches_only_while_the_generator_is_on(shop, clock, settings, on):
    from streaming.models import SalesEvent
    from streaming.services import sales_event_record

    settings.LIVE_GENERATOR = on
    rule = _rule(level="store", store_id=1, condition="no_data", no_data_intervals=3)
    interval = timedelta(seconds=settings.STREAMING_INTERVAL_SECONDS)
    # Store CA_1 reported its last sales four intervals ago; the generator drew some for it one interval ago
    # (recorded before the switch went off, say).
    sales_ingest(rows=[(1, 1, 2)], timestamp=NOON - 4 * interval)
    sales_event_record(rows=[(1, 2, 3)], timestamp=NOON - interval, source=SalesEvent.Source.GENERATOR)
    services.alerts_evaluate(now=NOON, no_data_only=True)
    assert _states(rule) == ({} if on else {(1, None): State.NO_DATA})


def test_a_no_data_rule_over_every_store_item_covers_every_series_of_the_history(shop, clock, settings):
    from datetime import time

    from alerts.models import StoreHours
    from sales.services import SaleRow, sales_record_batch

    # The history has five of the six store-items (CA_1 never sold HOUSEHOLD_2_118); TX_2 is open 09:00-11:00 only.
    history = [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3)]
    sales_record_batch(
        rows=[SaleRow(date=DAY - timedelta(days=40), store_id=s, item_id=i, sales=1) for s, i in history]
    )
    StoreHours.objects.create(store_id=2, opens=time(9), closes=time(11))
    rule = _rule(level="store_item", condition="no_data", no_data_intervals=3)
    # Only CA_1 x FOODS_3_090 reports within the window: every other series of the history is silent,
    # including those that never sent a batch today. TX_2 is closed at noon: its series do not fire.
    sales_ingest(rows=[(1, 1, 2)], timestamp=NOON - timedelta(seconds=settings.STREAMING_INTERVAL_SECONDS))
    summary = services.alerts_evaluate(now=NOON, no_data_only=True)
    assert summary.series == 5
    assert _states(rule) == {(1, 2): State.NO_DATA}
    # A pair that first sells today joins the rule's series at once (the rollup's new rows are read).
    sales_ingest(rows=[(1, 3, 1)], timestamp=NOON)
    assert services.alerts_evaluate(now=NOON, no_data_only=True).series == 6
    # Narrowed to one store: that store's series of the history only.
    narrow = _rule(level="store_item", store_id=1, condition="no_data", no_data_intervals=3)
    services.alerts_evaluate(now=NOON, no_data_only=True)
    assert set(_states(narrow)) == {(1, 2)}
