"""Rules over a node of the hierarchy (a region, a category, a department): the node's sales and forecast are
its children's added up (stores for a region, items for the rest), and its series speak the node's code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import services
from alerts.models import AlertState, Rule, State, StateChange
from alerts.selectors import NODE_MODELS
from alerts.tests.conftest import DAY, NOON
from alerts.tests.helpers import forecast_write
from sales.models import Category, Department, Item, Region, Store
from streaming.services import sales_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def hierarchy(shop):
    """Regions CA (store CA_1) and TX (TX_2); category FOODS (department FOODS_3: item FOODS_3_090), category
    HOBBIES (HOBBIES_1: HOBBIES_1_001); HOUSEHOLD_2_118 outside the hierarchy."""
    regions = {code: Region.objects.create(code=code) for code in ("CA", "TX")}
    Store.objects.filter(pk=1).update(region=regions["CA"])
    Store.objects.filter(pk=2).update(region=regions["TX"])
    for category, department, item in (("FOODS", "FOODS_3", 1), ("HOBBIES", "HOBBIES_1", 2)):
        node = Department.objects.create(code=department, category=Category.objects.create(code=category))
        Item.objects.filter(pk=item).update(department=node)
    return regions


def _rule(**fields) -> Rule:
    now = timezone.now()
    return Rule.objects.create(**{"name": "rule", "created_at": now - timedelta(hours=1), "updated_at": now, **fields})


def _states(rule: Rule) -> dict:
    codes: dict[int | None, str] = dict(NODE_MODELS[rule.level].objects.values_list("id", "code"))
    return {codes[s.node_id]: s.state for s in AlertState.objects.filter(rule=rule)}


def test_a_region_expects_the_sum_of_its_stores_forecasts_paced(hierarchy, clock):
    forecast_write(day=DAY, level="store", series={(1, None): 1000.0, (2, None): 600.0})
    rule = _rule(level="region", region=hierarchy["CA"], condition="forecast_percent", direction="below", percent=30)
    every = _rule(level="region", condition="forecast_percent", direction="below", percent=30)
    # Noon, a whole-day pace of one half: CA expects 500 and sold 100; TX expects 300 and sold 300.
    sales_ingest(rows=[(1, 1, 60), (1, 3, 40), (2, 2, 300)], timestamp=NOON)
    services.alerts_evaluate(now=NOON)
    assert _states(rule) == {"CA": State.ALERTING}
    assert _states(every) == {"CA": State.ALERTING}
    change = StateChange.objects.get(rule=rule)
    assert (change.actual, change.expected, change.lower, change.pace) == (100, 500, 350, 0.5)
    assert change.message.startswith("region CA: 100 so far, below 350")


def test_a_nodes_bounds_are_the_sum_of_its_childrens_bounds(hierarchy, clock):
    # Both stores in one region: 80 % intervals 800-1,200 and 480-720 add up to 1,280-1,920 for the day.
    Store.objects.filter(pk=2).update(region=hierarchy["CA"])
    forecast_write(day=DAY, level="store", series={(1, None): 1000.0, (2, None): 600.0})
    rule = _rule(level="region", region=hierarchy["CA"], condition="forecast_interval", direction="below", interval=80)
    sales_ingest(rows=[(1, 1, 300), (2, 1, 300)], timestamp=NOON)  # 600 < 640 = 1,280 x 0.5
    services.alerts_evaluate(now=NOON)
    change = StateChange.objects.get(rule=rule)
    assert (change.to_state, change.actual, change.expected) == (State.ALERTING, 600, 800)
    assert (change.lower, change.upper) == (640, 960)


def test_categories_and_departments_add_up_their_items(hierarchy, clock):
    forecast_write(day=DAY, level="item", series={(None, 1): 200.0, (None, 2): 100.0, (None, 3): 1000.0})
    by_category = _rule(level="category", condition="forecast_percent", direction="below", percent=30)
    by_department = _rule(level="department", condition="threshold", direction="above", threshold=50)
    # FOODS expects 100 by noon and sold 10 (both stores); HOBBIES 50 and sold 60. The item outside the
    # hierarchy (1,000 expected, nothing sold) is in no node.
    sales_ingest(rows=[(1, 1, 4), (2, 1, 6), (1, 2, 60)], timestamp=NOON)
    summary = services.alerts_evaluate(now=NOON)
    assert summary.series == 4
    assert _states(by_category) == {"FOODS": State.ALERTING}
    assert _states(by_department) == {"HOBBIES_1": State.ALERTING}
    change = StateChange.objects.get(rule=by_category)
    assert (change.actual, change.expected) == (10, 100)


def test_a_region_without_any_forecast_is_in_error(hierarchy, clock):
    rule = _rule(level="region", region=hierarchy["TX"], condition="forecast_interval", direction="below")
    services.alerts_evaluate(now=NOON)
    assert _states(rule) == {"TX": State.ERROR}


def test_no_data_over_every_region_counts_its_stores_batches(hierarchy, clock, settings):
    rule = _rule(level="region", condition="no_data", no_data_intervals=3)
    sales_ingest(rows=[(1, 1, 1)], timestamp=NOON - timedelta(seconds=settings.STREAMING_INTERVAL_SECONDS))
    services.alerts_evaluate(now=NOON, no_data_only=True)
    assert _states(rule) == {"TX": State.NO_DATA}


def test_the_api_names_nodes_by_code(hierarchy, clock, editor_client, api_client):
    forecast_write(day=DAY, level="store", series={(1, None): 1000.0})
    body = {"name": "CA slow", "level": "region", "region": "CA", "condition": "forecast_percent", "percent": 30}
    created = editor_client.post("/api/alerts/rules", body, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["region"], created.json()["per_series"]) == ("CA", False)
    Rule.objects.update(created_at=NOON - timedelta(hours=1))
    services.alerts_evaluate(now=NOON)
    (state,) = api_client.get("/api/alerts/states", {"firing": "true"}).json()["results"]
    assert (state["node"], state["store"], state["item"], state["state"]) == ("CA", None, None, "Alerting")
    (change,) = api_client.get("/api/alerts/history").json()["results"]
    assert change["node"] == "CA" and change["message"].startswith("region CA: 0 so far")
    # A node of another level, or a store with a region rule: a 400 naming the field.
    wrong = editor_client.post("/api/alerts/rules", {**body, "category": "FOODS"}, format="json")
    assert (wrong.status_code, wrong.json()["parameter"]) == (400, "category")
    wrong = editor_client.post("/api/alerts/rules", {**body, "store": "CA_1"}, format="json")
    assert (wrong.status_code, wrong.json()["parameter"]) == (400, "level")
    unknown = editor_client.post("/api/alerts/rules", {**body, "region": "NOWHERE"}, format="json")
    assert (unknown.status_code, unknown.json()["parameter"]) == (400, "region")


def test_a_region_is_previewed_on_its_stores_daily_totals_against_their_summed_forecasts(hierarchy, clock, api_client):
    from sales.services import SaleRow, sales_record_batch

    Store.objects.filter(pk=2).update(region=hierarchy["CA"])
    days = [DAY - timedelta(days=k) for k in (2, 1)]
    # CA: 110 + 50 = 160 against 100 + 100 the first day (fine at 30 % under), 10 + 20 = 30 the second (fires).
    sales_record_batch(
        rows=[
            SaleRow(date=d, store_id=s, item_id=1, sales=u)
            for d, units in zip(days, ((110, 50), (10, 20)), strict=True)
            for s, u in zip((1, 2), units, strict=True)
        ]
    )
    for day in days:
        forecast_write(day=day, level="store", series={(1, None): 100.0, (2, None): 100.0})
    rule = {"name": "CA", "level": "region", "region": "CA", "condition": "forecast_percent", "percent": 30}
    body = api_client.post("/api/alerts/rules/preview", rule, format="json").json()
    assert [(p["actual"], p["expected"], p["lower"], p["firing"]) for p in body["points"]] == [
        (160, 200, 140, False),
        (30, 200, 140, True),
    ]
    assert "sum of the stores' daily forecasts" in body["notes"][-1]


def test_the_editor_offers_the_hierarchy_levels_and_says_how_a_nodes_interval_is_made(hierarchy, editor_client):
    html = editor_client.get("/alerts/").content.decode()
    for level in ("region", "category", "department"):
        assert f'<option value="{level}">' in html
    assert "Its bounds are the sum of their bounds" in html


@pytest.mark.parametrize("condition", ["forecast_interval", "no_data", "threshold"])
def test_a_node_preview_without_any_data_answers_empty(shop, api_client, condition):
    rule = {"name": "x", "level": "department", "condition": condition, "threshold": 1, "no_data_intervals": 2}
    answer = api_client.post("/api/alerts/rules/preview", rule, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["points"] == [] and answer.json()["per_series"] is True
