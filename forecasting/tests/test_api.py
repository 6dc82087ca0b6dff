"""GET /api/sales/predictions: shape (API_CONTRACT.md) and errors."""

from __future__ import annotations

from datetime import timedelta

import jsonschema
import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from forecasting import services
from forecasting.candidates import CANDIDATES
from sales.services import SaleRow, sales_record_batch

pytestmark = pytest.mark.django_db
URL = "/api/sales/predictions"


@pytest.fixture
def client(api_client):
    return api_client


def test_no_forecast_yet_is_a_200_that_says_so(small_history, client):
    # A state of the product, not an error: the page must not log a console error for it.
    response = client.get(URL + "?store=1")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "none"
    assert "no forecast yet" in body["message"]
    assert body["series"] == {"level": "store", "store": "1", "item": None}
    assert body["forecast"] == [] and body["running_since"] is None
    predictions_schema().validate(body)


def test_while_the_first_refit_runs_the_answer_says_it_is_running(small_history, client):
    run, _chunks = services.forecast_run_start(days=7)
    body = client.get(URL).json()
    assert body["status"] == "running"
    assert "refit is running" in body["message"]
    assert body["running_since"] == run.started_at.isoformat()


@pytest.fixture
def fitted(small_history):
    return services.forecast_refit(days=14)


LEVELS = [
    ("", "total", None, None),
    ("?store=2", "store", 2, None),
    ("?item=3", "item", None, 3),
    ("?store=1&item=2", "store_item", 1, 2),
]


def test_the_answer_has_the_contract_shape(fitted, client):
    # One refit serves every level (refits are the slow part of this suite).
    for query, level, store, item in LEVELS:
        _check_shape(fitted, client, query, level, store, item)
        # The OpenAPI component says exactly this (schemathesis only sees the pending answer: it fits nothing).
        predictions_schema().validate(client.get(URL + query).json())


def predictions_schema() -> jsonschema.Draft202012Validator:
    """The OpenAPI component of the predictions answer as a JSON Schema validator (OpenAPI 3.0's
    `nullable` written as JSON Schema's null type)."""

    def converted(node):
        if isinstance(node, list):
            return [converted(value) for value in node]
        if not isinstance(node, dict):
            return node
        node = {key: converted(value) for key, value in node.items()}
        if node.pop("nullable", False):
            return {"anyOf": [node, {"type": "null"}]}
        return node

    components = converted(SchemaGenerator().get_schema(request=None, public=True)["components"])
    return jsonschema.Draft202012Validator({"$ref": "#/components/schemas/Predictions", "components": components})


def _check_shape(fitted, client, query, level, store, item):
    response = client.get(URL + query)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["series"] == {
        "level": level,
        "store": None if store is None else str(store),
        "item": None if item is None else str(item),
    }
    assert body["run"]["id"] == fitted.pk and body["run"]["horizon_days"] == 14
    model = body["model"]
    assert {"name", "order", "seasonal_order", "exogenous", "training_start", "training_end", "fallback"} <= set(model)
    assert len(model["order"]) == 3 and len(model["seasonal_order"]) == 4
    assert "weekday" in model["exogenous"]
    assert model["training_end"] == fitted.training_end.isoformat()
    accuracy = body["accuracy"]
    for name in ("smape", "mae", "coverage_80", "coverage_95", "naive_smape", "naive_mae"):
        assert isinstance(accuracy[name], float), name
    assert accuracy["holdout_days"] == 90
    assert len(body["actuals"]) == 90
    assert body["actuals"][-1]["date"] == fitted.training_end.isoformat()
    # The forecast starts tomorrow (the history ends yesterday); today comes apart, a partial day.
    assert len(body["forecast"]) == 14
    first = body["forecast"][0]
    today = timezone.localdate()
    assert fitted.training_end == today - timedelta(days=1)
    assert first["date"] == (today + timedelta(days=1)).isoformat()
    assert set(first) == {"date", "yhat", "mean", "lower_80", "upper_80", "lower_95", "upper_95", "actual"}
    assert body["today"]["date"] == today.isoformat() and set(body["today"]) == set(first)
    assert body["point"] == "median"
    assert model["id"] in CANDIDATES and body["model_reason"]
    for point in body["forecast"]:
        assert 0 <= point["lower_95"] <= point["lower_80"] <= point["yhat"] <= point["upper_80"] <= point["upper_95"]


def test_a_day_after_the_refit_the_forecast_still_starts_tomorrow(fitted, client, monkeypatch):
    """Between midnight and the nightly refit the latest run is a day old: yesterday's "tomorrow" is
    today, a partial day, and the published horizon is a day shorter (the page asks for all of it)."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)
    body = client.get(URL).json()
    assert body["today"]["date"] == tomorrow.isoformat()
    assert body["forecast"][0]["date"] == (tomorrow + timedelta(days=1)).isoformat()
    assert len(body["forecast"]) == body["run"]["horizon_days"] == 13
    refused = client.get(URL + "?days=14")
    assert refused.status_code == 400
    assert refused.json()["error"] == "days: days must be at most 13, the horizon of the latest forecast run"


def test_days_limits_the_forecast(fitted, client):
    body = client.get(URL + "?store=1&days=3").json()
    assert len(body["forecast"]) == 3


def test_live_sales_appear_beside_the_forecast(fitted, client):
    today = timezone.localdate()
    sales_record_batch(rows=[SaleRow(date=today, store_id=1, item_id=2, sales=7), SaleRow(today, 2, 2, 5)])
    body = client.get(URL + "?store=1&item=2").json()
    assert body["today"]["actual"] == 7
    assert all(p["date"] > today.isoformat() and p["actual"] is None for p in body["forecast"])
    assert client.get(URL + "?item=2").json()["today"]["actual"] == 12
    # A store-item with nothing sold yet on a day that has sales is 0; days to come are null.
    body = client.get(URL + "?store=1&item=3").json()
    assert body["today"]["actual"] == 0
    assert body["forecast"][0]["date"] == (today + timedelta(days=1)).isoformat()
    assert body["forecast"][0]["actual"] is None


BAD = [
    ("?store=99", 404, None, "unknown store 99"),
    ("?item=98", 404, None, "unknown item 98"),
    ("?days=15", 400, "days", "at most 14"),
    ("?days=0", 400, "days", "days"),
    ("?days=soon", 400, "days", "days"),
    ("?store=abc", 404, None, "unknown store abc"),
    ("?store=a%01b", 400, "store", "store"),
    ("?item=1,2", 400, "item", "item"),
]


def test_bad_requests_name_what_is_wrong(fitted, client):
    for query, status, parameter, words in BAD:
        response = client.get(URL + query)
        assert response.status_code == status, query
        body = response.json()
        assert words in body["error"], query
        assert body.get("parameter") == parameter, query


def test_health_reports_the_age_of_the_forecast(fitted, staff_client):
    # The other checks (stream, redis) may or may not be healthy here; the forecast one is ours.
    body = staff_client.get("/health").json()
    assert body["checks"]["forecast"] == "up"
    check = body["details"]["forecast"]
    assert check["status"] == "ok"
    assert 0 <= check["age_seconds"] < 600
    assert check["run_id"] == fitted.pk


def test_metrics_show_todays_forecast_beside_todays_actual(fitted, client):
    today = timezone.localdate().isoformat()
    for query, _level, _store, _item in LEVELS[:3]:
        prediction = client.get(URL + query).json()
        # The forecast starts tomorrow; today's own forecast comes apart, for this KPI and the partial day.
        point = prediction["today"]
        assert point["date"] == today
        block = client.get("/api/sales/metrics" + query).json()["today"]
        assert block["date"] == today
        # The KPI is the expected sales (the mean, which adds up), not the median the chart draws.
        assert block["forecast"] == pytest.approx(point["mean"], abs=0.01), query
        assert block["lower_95"] <= block["lower_80"] <= block["forecast"] <= block["upper_80"] <= block["upper_95"]
