"""The schema says what the server does: ids are integers (lists of them for the filters), days run from 1
to the horizon, an empty parameter is refused naming it, and every /api/ 404 is JSON."""

from __future__ import annotations

import pytest
from django.conf import settings

from core.params import CODE_SCHEMA

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/sales?date_to=", "date_to"),
        ("/api/sales/aggregated?group_by=", "group_by"),
        ("/api/sales/metrics?store=1&item=", "item"),
        ("/api/sales/predictions?days=", "days"),
        ("/api/stores?search=", "search"),
        ("/api/stream?store=", "store"),
    ],
)
def test_an_empty_parameter_gets_a_400_naming_it(client, url, parameter):
    response = client.get(url)
    assert response.status_code == 400, url
    assert response.json() == {
        "error": f"{parameter}: must not be empty: give a value or leave the parameter out.",
        "parameter": parameter,
    }


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("/api/nothing-here", "not found: /api/nothing-here"),
        ("/api/stores/abc", "no store with code 'abc'"),
        ("/api/items/1234567890", "no item with code '1234567890'"),
        ("/api/sales/x/y", "not found: /api/sales/x/y"),
    ],
)
def test_every_api_404_is_json(client, url, error):
    response = client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": error}


def test_a_page_404_stays_a_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("query", "parameter", "words"),
    [
        ("store=1,2", "store", "takes one code"),
        ("item=a%01", "item", "control character"),
        (f"days={settings.FORECAST_DAYS + 1}", "days", "less than or equal to"),
        ("days=0", "days", "greater than or equal to"),
    ],
)
def test_predictions_parse_ids_with_the_shared_parser_and_bound_days(client, query, parameter, words):
    response = client.get(f"/api/sales/predictions?{query}")
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter and words in response.json()["error"]


def test_the_schema_types_ids_days_and_404s(client):
    schema = client.get("/api/schema/?format=json").json()
    metrics = {p["name"]: p for p in schema["paths"]["/api/sales/metrics/"]["get"]["parameters"]}
    assert metrics["store"]["schema"] == {
        "type": "array",
        "items": CODE_SCHEMA,
        "minItems": 1,
        "maxItems": 1000,
    }
    assert (metrics["store"]["style"], metrics["store"]["explode"]) == ("form", False)
    predictions = {p["name"]: p for p in schema["paths"]["/api/sales/predictions/"]["get"]["parameters"]}
    assert predictions["days"]["schema"] == {"type": "integer", "minimum": 1, "maximum": settings.FORECAST_DAYS}
    assert predictions["store"]["schema"]["type"] == "string"
    detail = schema["paths"]["/api/stores/{code}/"]["get"]
    (code_parameter,) = [p for p in detail["parameters"] if p["name"] == "code"]
    assert code_parameter["schema"] == CODE_SCHEMA
    assert "404" in detail["responses"]


@pytest.mark.parametrize(
    "endpoint", ["/api/sales", "/api/sales/aggregated", "/api/sales/breakdown", "/api/sales/metrics"]
)
@pytest.mark.parametrize(
    ("query", "parameter"),
    [("date_from=1899-12-31", "date_from"), ("date_to=2200-01-01", "date_to"), ("date_to=0201-03-04", "date_to")],
)
def test_dates_outside_their_bounds_get_a_400_naming_them(client, endpoint, query, parameter):
    response = client.get(f"{endpoint}?{query}")
    assert response.status_code == 400, query
    body = response.json()
    assert body["parameter"] == parameter
    assert "outside 1900-01-01 to 2199-12-31" in body["error"]


def test_dates_on_their_bounds_are_taken(client):
    response = client.get("/api/sales/metrics?date_from=1900-01-01&date_to=2199-12-31")
    assert response.status_code == 200


def test_the_schema_states_the_date_bounds(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in ("/api/sales/", "/api/sales/aggregated/", "/api/sales/breakdown/", "/api/sales/metrics/"):
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        for name in ("date_from", "date_to"):
            assert parameters[name]["schema"] == {
                "type": "string",
                "format": "date",
                "x-formatMinimum": "1900-01-01",
                "x-formatMaximum": "2199-12-31",
            }, (path, name)
            assert "from 1900-01-01 to 2199-12-31" in parameters[name]["description"]
    timestamp = schema["components"]["schemas"]["Ingest"]["properties"]["timestamp"]
    assert timestamp["format"] == "date-time"
    assert f"({settings.STREAMING_EVENT_RETENTION_DAYS})" in timestamp["description"]
    assert "at most 5 minutes ahead" in timestamp["description"]


def test_the_schema_is_built_once_per_process(anonymous_client, monkeypatch):
    from drf_spectacular.generators import SchemaGenerator

    from core.views import SchemaView

    monkeypatch.setattr(SchemaView, "_rendered", {})
    first = anonymous_client.get("/api/schema/")
    assert first.status_code == 200 and b"/api/sales/aggregated" in first.content

    def built_again(*args, **kwargs):
        raise AssertionError("the schema was built a second time")

    monkeypatch.setattr(SchemaGenerator, "get_schema", built_again)
    again = anonymous_client.get("/api/schema/")
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
