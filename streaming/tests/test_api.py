"""POST /api/sales/ingest and the stream's parameter checks (in-process client)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from sales.models import DailyTotal, Sale
from streaming import services
from streaming.models import SalesEvent


@pytest.fixture
def token_client(ingest_client):
    return ingest_client


def state():
    return (
        SalesEvent.objects.count(),
        Sale.objects.aggregate(s=Sum("sales"))["s"],
        DailyTotal.objects.aggregate(s=Sum("sales"))["s"],
    )


@pytest.mark.django_db
def test_ingest_goes_through_the_same_path_as_the_generator(small_history, token_client):
    before = state()
    response = token_client.post(
        "/api/sales/ingest",
        {"rows": [{"store": 1, "item": 2, "quantity": 5}, {"store": 2, "item": 3, "quantity": 4}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "ingest" and body["total"] == 9
    # Codes: a JSON number reads as its text, and the answer speaks text.
    assert body["rows"] == [{"store": "1", "item": "2", "quantity": 5}, {"store": "2", "item": "3", "quantity": 4}]
    assert set(body) == {"id", "timestamp", "date", "source", "kind", "rows", "total"}
    assert body["kind"] == "ingested"
    after = state()
    assert after == (before[0] + 1, before[1] + 9, before[2] + 9)
    assert SalesEvent.objects.get(id=body["id"]).payload() == body


@pytest.mark.django_db
def test_ingest_keeps_an_explicit_timestamp(small_history, token_client):
    # A till reporting late: the units land on the day the timestamp names, added to what is there.
    moment = timezone.localtime() - timedelta(days=2)
    day = moment.date()
    Sale.objects.create(date=day, store_id=1, item_id=1, sales=10)
    response = token_client.post(
        "/api/sales/ingest",
        {"rows": [{"store": 1, "item": 1, "quantity": 2}], "timestamp": moment.isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["date"] == day.isoformat()
    assert Sale.objects.get(date=day, store_id=1, item_id=1).sales == 12


@pytest.mark.django_db
def test_ingest_takes_fractional_units_and_returns(small_history, token_client):
    before = state()
    response = token_client.post(
        "/api/sales/ingest",
        {"rows": [{"store": 1, "item": 2, "quantity": 2.474}, {"store": 2, "item": 3, "quantity": -1}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    # JSON numbers, exact: 2.474 - 1.
    assert body["total"] == 1.474
    assert body["rows"] == [
        {"store": "1", "item": "2", "quantity": 2.474},
        {"store": "2", "item": "3", "quantity": -1},
    ]
    assert b'"total":1.474' in response.content and b'"quantity":-1}' in response.content
    after = state()
    assert after == (before[0] + 1, before[1] + Decimal("1.474"), before[2] + Decimal("1.474"))
    assert SalesEvent.objects.get(id=body["id"]).payload() == body


@pytest.mark.django_db
def test_anonymous_and_bad_tokens_get_401(small_history):
    before = state()
    body = {"rows": [{"store": 1, "item": 1, "quantity": 1}]}
    assert APIClient().post("/api/sales/ingest", body, format="json").status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.post("/api/sales/ingest", body, format="json").status_code == 401
    assert state() == before


@pytest.mark.django_db
def test_a_token_outside_the_ingest_group_gets_403(small_history, viewer_token):
    before = state()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {viewer_token}")
    response = client.post("/api/sales/ingest", {"rows": [{"store": 1, "item": 1, "quantity": 1}]}, format="json")
    assert response.status_code == 403
    assert "ingest group" in response.json()["error"]
    assert state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"rows": [{"store": 1, "item": 1, "quantity": 1}, {"store": 99, "item": 1, "quantity": 1}]}, "rows[1].store"),
        ({"rows": [{"store": 1, "item": 77, "quantity": 1}]}, "rows[0].item"),
        ({"rows": [{"store": 1, "item": 1, "quantity": 1.2345}]}, "rows[0].quantity"),
        ({"rows": [{"store": 1, "item": 1, "quantity": "NaN"}]}, "rows[0].quantity"),
        ({"rows": [{"store": 1, "item": 1, "quantity": True}]}, "rows[0].quantity"),
        ({"rows": [{"store": 1, "item": 1, "quantity": -1_000_001}]}, "rows[0].quantity"),
        ({"rows": [{"store": 1, "item": 1, "quantity": "lots"}]}, "rows[0].quantity"),
        ({"rows": [{"store": 1, "item": 1}]}, "rows[0].quantity"),
        ({"rows": []}, "rows"),
        ({}, "rows"),
        ({"rows": "junk"}, "rows"),
        ({"rows": [{"store": 1, "item": 1, "quantity": 1}], "timestamp": "yesterday-ish"}, "timestamp"),
        ({"rows": [{"store": 1, "item": 1, "quantity": 1}], "timestamp": "2999-01-01T00:00:00Z"}, "timestamp"),
        # Older than the event log keeps: a back-fill, which belongs to load_train --append.
        ({"rows": [{"store": 1, "item": 1, "quantity": 1}], "timestamp": "2017-12-30T10:00:00Z"}, "timestamp"),
        ({"rows": [{"store": 1, "item": 1, "quantity": 1_000_001}]}, "rows[0].quantity"),
        # Within the per-row bound, but the same store-item adds up past it.
        (
            {"rows": [{"store": 1, "item": 1, "quantity": 600_000}, {"store": 1, "item": 1, "quantity": 600_000}]},
            "rows[1].quantity",
        ),
        (["not", "an", "object"], "body"),
    ],
)
def test_bad_ingest_gets_400_naming_the_field_and_changes_nothing(small_history, token_client, body, parameter):
    before = state()
    response = token_client.post("/api/sales/ingest", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["parameter"] == parameter
    assert parameter in response.json()["error"] or parameter == "body"
    assert state() == before


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["{rows: oops", "[" * 100_000 + "]" * 100_000, "\x00\xff binary"])
def test_junk_json_gets_400(small_history, token_client, body):
    before = state()
    response = token_client.post("/api/sales/ingest", body, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()
    assert state() == before


@pytest.mark.django_db
def test_ingest_past_the_column_range_gets_400_and_changes_nothing(small_history, token_client):
    # Many requests on one store-item could add up past the column's range (numeric(12, 3)); the write must
    # refuse, not 500.
    Sale.objects.create(date=timezone.localdate(), store_id=1, item_id=1, sales=999_500_000)
    before = state()
    response = token_client.post(
        "/api/sales/ingest", {"rows": [{"store": 1, "item": 1, "quantity": 1_000_000}]}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["parameter"] == "rows"
    assert state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("store=a%01b", "store"),
        ("item=1," + "x" * 65, "item"),
        ("store=%7F", "store"),
        ("last_event_id=-1", "last_event_id"),
        ("last_event_id=z", "last_event_id"),
    ],
)
def test_bad_stream_parameters_get_400(client, query, parameter):
    response = client.get(f"/api/stream?{query}")
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


@pytest.mark.django_db
def test_health_turns_503_when_the_last_tick_is_stale(small_history, staff_client):
    with override_settings(STREAMING_INTERVAL_SECONDS=60):
        services.tick_generate(seed=1)
        fresh = staff_client.get("/health").json()
        assert fresh["checks"]["stream"] == "up"
        assert fresh["details"]["stream"]["status"] == "ok" and fresh["details"]["stream"]["last_tick_age_seconds"] < 5
        SalesEvent.objects.update(timestamp=timezone.now() - timedelta(minutes=4))
        response = staff_client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["stream"] == "down"
    assert response.json()["details"]["stream"]["status"] == "stale"
