from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from core.testing import history_load
from sales.models import DailyItemTotal, DailyStoreTotal, DailyTotal, Sale
from sales.services import sales_record_batch
from sales.tests.factories import weekly_rows
from streaming import selectors, services
from streaming.models import SalesEvent, SalesProfile

NOW = datetime(2026, 11, 24, 11, 40, 30, tzinfo=UTC)


def today_units(day):
    return {
        "sale": Sale.objects.filter(date=day).aggregate(s=Sum("sales"))["s"] or 0,
        "daily": DailyTotal.objects.filter(date=day).aggregate(s=Sum("sales"))["s"] or 0,
        "store": DailyStoreTotal.objects.filter(date=day).aggregate(s=Sum("sales"))["s"] or 0,
        "item": DailyItemTotal.objects.filter(date=day).aggregate(s=Sum("sales"))["s"] or 0,
    }


@pytest.mark.django_db
@override_settings(STREAMING_INTERVAL_SECONDS=3600)  # hourly, so a 6-item catalogue sells something
def test_a_tick_writes_the_elapsed_interval_once_after_catching_up_today(small_history):
    ids = services.tick_generate(now=NOW, seed=1)
    # The first tick: today's hours before the one that just ended, as one catch-up batch, then that hour.
    catch_up, event = SalesEvent.objects.filter(id__in=ids).order_by("id")
    assert (catch_up.kind, catch_up.interval_start) == ("catch-up", datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert (event.kind, event.interval_start) == ("generated", datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert event.source == catch_up.source == "generator"
    assert event.date == catch_up.date == NOW.date()
    assert event.total == sum(q for _, _, q in event.rows) > 0
    assert catch_up.total > 5 * event.total  # ten hours against one
    # The units are in the history and every rollup (so every API answer includes them), marked generated.
    both = catch_up.total + event.total
    assert today_units(NOW.date()) == dict.fromkeys(["sale", "daily", "store", "item"], both)
    assert not Sale.objects.filter(date=NOW.date(), generated=False).exists()

    # The same interval again (beat and a retry, or a restarted worker) adds nothing.
    assert services.tick_generate(now=NOW + timedelta(minutes=15), seed=2) == []
    assert services.tick_generate(now=NOW, seed=3) == []
    assert SalesEvent.objects.count() == 2
    assert today_units(NOW.date())["daily"] == both


@pytest.mark.django_db
@override_settings(STREAMING_INTERVAL_SECONDS=60)
def test_a_late_tick_catches_up_the_missed_intervals_of_today_as_one_batch(small_history):
    services.tick_generate(now=NOW, seed=1)
    ids = services.tick_generate(now=NOW + timedelta(minutes=3), seed=2)
    events = list(SalesEvent.objects.filter(id__in=ids).values_list("kind", "interval_start"))
    minute = datetime(2026, 11, 24, 11, 41, tzinfo=UTC)
    assert events == [("catch-up", minute), ("generated", minute + timedelta(minutes=1))]
    # After an outage across midnight: today from its start, not yesterday's rest.
    tomorrow = NOW + timedelta(days=1)
    ids = services.tick_generate(now=tomorrow, seed=3)
    catch_up = SalesEvent.objects.get(id=ids[0])
    assert (catch_up.kind, catch_up.date) == ("catch-up", tomorrow.date())
    assert SalesEvent.objects.get(id=ids[1]).interval_start == datetime(2026, 11, 25, 11, 39, tzinfo=UTC)
    assert list(SalesEvent.objects.values_list("id", flat=True)) == sorted(
        SalesEvent.objects.values_list("id", flat=True)
    )


@pytest.mark.django_db
def test_without_a_history_the_tick_does_nothing():
    assert services.tick_generate(now=NOW) == []
    assert not SalesEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.clock_matrix
@override_settings(STREAMING_INTERVAL_SECONDS=3600)
def test_a_history_loaded_without_followups_is_live_at_the_first_tick_on_any_day(tmp_path, clock_instant, time_machine):
    """The sample ends on a Sunday: aligned to today on a Monday it ends yesterday and no day is filled,
    so nothing fitted the generator's profile and the tick drew nothing. The tick fits it itself."""
    summary = history_load(tmp_path, stores=2, items=2).summary
    assert summary.date_to < timezone.localdate()
    services.tick_generate(seed=1)
    assert SalesProfile.objects.count() == 4
    # In the first hour after midnight the hour that just ended is yesterday's, which the history holds:
    # the tick an hour later generates in any case.
    time_machine.move_to(timezone.now() + timedelta(hours=1), tick=False)
    ids = services.tick_generate(seed=2)
    assert ids
    assert all(event.date == timezone.localdate(event.interval_start) for event in SalesEvent.objects.all())


@pytest.mark.django_db
def test_the_generated_level_follows_the_profile(small_history):
    """A full simulated day through the real tick path: about the expected daily total."""
    with override_settings(STREAMING_INTERVAL_SECONDS=3600):
        services.tick_generate(now=datetime(2026, 11, 24, 0, 0, 5, tzinfo=UTC), seed=1)
        services.tick_generate(now=datetime(2026, 11, 25, 0, 0, 5, tzinfo=UTC), seed=1)
    day = datetime(2026, 11, 24).date()
    # 23 hours caught up in one batch, then the last hour.
    assert list(SalesEvent.objects.filter(date=day).values_list("kind", flat=True)) == ["catch-up", "generated"]
    generated = SalesEvent.objects.filter(date=day).aggregate(s=Sum("total"))["s"]
    from streaming.simulation import expected_daily

    expected = expected_daily(selectors.profile_arrays(), day=day, trend_horizon_days=365).sum()
    # Poisson-ish noise on a few hundred units: well within 25 %.
    assert abs(float(generated) / expected - 1) < 0.25


@pytest.mark.django_db
def test_stream_health_reports_the_age_of_the_last_tick(small_history):
    assert selectors.stream_health() == {"status": "empty", "generator": "on", "last_tick_age_seconds": None}
    services.tick_generate(seed=1)
    health = selectors.stream_health()
    assert health["status"] == "ok" and health["last_tick_age_seconds"] < 5
    SalesEvent.objects.update(timestamp=timezone.now() - timedelta(seconds=3 * 60 + 5))
    with override_settings(STREAMING_INTERVAL_SECONDS=60):
        assert selectors.stream_health()["status"] == "stale"


@pytest.mark.django_db
def test_metrics_follow_the_filters(small_history):
    event = services.sales_ingest(rows=[(1, 1, 5), (1, 2, 7), (2, 1, 11)])
    everything = selectors.stream_metrics(last_event_id=event.id)
    assert everything["today_total"] == 23
    assert everything["total_sales"] == int(small_history["sales"].sum()) + 23
    assert everything["date"] == timezone.localdate().isoformat()
    # The stream's filters are codes (a whole-number code names the store or item of that id here).
    assert selectors.stream_metrics(stores=("1",), last_event_id=event.id)["today_total"] == 12
    assert selectors.stream_metrics(items=("1",), last_event_id=event.id)["today_total"] == 16
    one = selectors.stream_metrics(stores=("1",), items=("2",), last_event_id=event.id)
    expected = small_history.query("store == 1 and item == 2")["sales"].sum() + 7
    assert (one["today_total"], one["total_sales"]) == (7, expected)


@pytest.mark.django_db
def test_events_are_pruned_after_the_retention(small_history):
    old = services.sales_ingest(rows=[(1, 1, 1)])
    SalesEvent.objects.filter(id=old.id).update(timestamp=timezone.now() - timedelta(days=40))
    new = services.sales_ingest(rows=[(1, 1, 1)])
    assert services.events_prune(older_than_days=30) == 1
    assert list(SalesEvent.objects.values_list("id", flat=True)) == [new.id]


@pytest.mark.django_db
def test_the_metrics_of_every_stream_filter_take_one_query(small_history):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sales.models import Item, Store
    from sales.selectors import SalesFilters, codes_resolve, daily_totals
    from streaming.selectors import stream_metrics_many

    services.sales_ingest(rows=[(1, 3, 5), (2, 1, 4)])  # something today
    keys = [((), ()), (("1",), ()), ((), ("2",)), (("1", "2"), ("3",)), (("2",), ("1", "2")), (("nope",), ())]
    with CaptureQueriesContext(connection) as queries:
        together = stream_metrics_many(keys=keys, last_event_id=7)
    # The store codes and the item codes of every filter, looked up once each, then one query for the totals.
    assert len(queries) == 3
    for stores, items in keys:
        resolved = SalesFilters(
            stores=codes_resolve(model=Store, codes=stores), items=codes_resolve(model=Item, codes=items)
        )
        daily = daily_totals(filters=resolved)
        expected = daily.aggregate(total=Sum("sales"))["total"] or 0
        assert together[(stores, items)]["total_sales"] == expected
        today = daily.filter(date=timezone.localdate()).aggregate(total=Sum("sales"))["total"] or 0
        assert together[(stores, items)]["today_total"] == today
        assert together[(stores, items)]["last_event_id"] == 7
    assert together[(("nope",), ())]["total_sales"] == 0


@pytest.mark.django_db
def test_the_tick_leaves_a_weekly_history_alone(settings):
    # Both through the `settings` fixture: an @override_settings around a test that also sets the fixture
    # is undone in the wrong order, and its interval then stays on for the tests after it.
    settings.STREAMING_INTERVAL_SECONDS = 3600
    settings.LIVE_GENERATOR = True  # the demo's generator is on, and still draws nothing for weekly rows
    sales_record_batch(rows=weekly_rows(weeks=20))
    services.profile_fit()
    assert services.tick_generate(now=NOW, seed=1) == []
    assert not SalesEvent.objects.exists()
    assert not Sale.objects.filter(generated=True).exists()
