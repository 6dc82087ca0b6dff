"""The OpenAPI schema generates without warnings and describes every parameter."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

LEVELS = ("region", "category", "department")
EXPECTED_PARAMETERS = {
    "/api/sales/": {"store", "item", *LEVELS, "date_from", "date_to", "ordering", "page", "page_size", "after"},
    "/api/sales/aggregated/": {
        "store",
        "item",
        *LEVELS,
        "date_from",
        "date_to",
        "granularity",
        "group_by",
        "page_size",
        "after",
        "format",
    },
    "/api/sales/metrics/": {"store", "item", *LEVELS, "date_from", "date_to"},
    "/api/sales/breakdown/": {
        "store",
        "item",
        *LEVELS,
        "date_from",
        "date_to",
        "by",
        "top",
        "order",
        "offset",
        "format",
    },
}


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    # --fail-on-warn makes any generator warning (an undescribed or mistyped parameter) an error.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(path))
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", list(EXPECTED_PARAMETERS))
def test_schema_describes_every_parameter(schema, path):
    parameters = schema["paths"][path]["get"]["parameters"]
    assert {p["name"] for p in parameters} == EXPECTED_PARAMETERS[path]
    assert all(p.get("description") for p in parameters), [p["name"] for p in parameters if not p.get("description")]
    assert "400" in schema["paths"][path]["get"]["responses"]


def test_schema_lists_the_choices(schema):
    aggregated = {p["name"]: p for p in schema["paths"]["/api/sales/aggregated/"]["get"]["parameters"]}
    assert set(aggregated["granularity"]["schema"]["enum"]) == {"day", "week", "month"}
    assert set(aggregated["group_by"]["schema"]["enum"]) == {"store", "item", *LEVELS}
    breakdown = {p["name"]: p for p in schema["paths"]["/api/sales/breakdown/"]["get"]["parameters"]}
    assert set(breakdown["by"]["schema"]["enum"]) == {"store", "item", *LEVELS}
    assert breakdown["department"]["schema"] == aggregated["store"]["schema"]  # codes, one or several
    sales = {p["name"]: p for p in schema["paths"]["/api/sales/"]["get"]["parameters"]}
    assert sales["page_size"]["schema"]["maximum"] == 1000
    assert "-date" in sales["ordering"]["schema"]["enum"]


@pytest.mark.django_db
def test_schema_and_docs_are_served():
    client = Client(HTTP_HOST="localhost")
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
