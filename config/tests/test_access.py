"""Who may do what, endpoint by endpoint: anonymous, a viewer, an ingest token, staff; with
PUBLIC_READ off (the default) and on (README, "Security")."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from sales.models import Item, Sale, Store

pytestmark = pytest.mark.django_db

READS = [
    "/api/stores",
    "/api/stores/1",
    "/api/items",
    "/api/items/1",
    "/api/sales",
    "/api/sales/aggregated",
    "/api/sales/metrics",
    "/api/sales/predictions",
    "/api/sales/breakdown?by=store",
    "/api/stream/status",
    "/api/alerts/rules",
    "/api/alerts/states",
    "/api/alerts/history",
    # The CSV exports: the same rules, and a refusal is JSON like every other.
    "/api/sales/aggregated?format=csv&group_by=item",
    "/api/sales/breakdown?by=item&format=csv",
]
OPEN = ["/health", "/api/schema/", "/api/docs/", "/login/"]
INGEST = "/api/sales/ingest"
NOT_READERS = {401, 403}


@pytest.fixture
def data(db):
    from sales.services import SaleRow, sales_record_batch

    Store.objects.create(id=1, code="1", name="Store 1")
    Item.objects.create(id=1, code="1", name="Item 1")
    # Through the write path, so that the rollups the API reads agree.
    sales_record_batch(rows=[SaleRow(date=date(2017, 1, 2), store_id=1, item_id=1, sales=5)])
    return Sale.objects.get()


@pytest.fixture
def viewer_token_client(viewer_token):
    scripted = APIClient()
    scripted.credentials(HTTP_AUTHORIZATION=f"Token {viewer_token}")
    return scripted


def reads(sale) -> list[str]:
    return [*READS, f"/api/sales/{sale.id}"]


def read_allowed(response) -> bool:
    # /api/sales/predictions has no forecast here: its answer (whatever it is) is not a refusal.
    expected = "text/csv" if "format=csv" in response.wsgi_request.get_full_path() else "application/json"
    return response.status_code not in NOT_READERS and response["Content-Type"].startswith(expected)


def test_anonymous_gets_a_json_401_from_every_read_and_a_redirect_from_the_dashboard(anonymous_client, data):
    for url in reads(data):
        response = anonymous_client.get(url)
        assert response.status_code == 401, url
        assert response["Content-Type"] == "application/json", url
        assert response.json() == {"error": "Authentication credentials were not provided."}, url
    page = anonymous_client.get("/?store=1")
    assert page.status_code == 302
    assert page["Location"] == "/login/?next=/%3Fstore%3D1"
    stream = anonymous_client.get("/api/stream")
    assert (stream.status_code, stream.json()) == (401, {"error": "Authentication credentials were not provided."})
    assert anonymous_client.get("/admin/").status_code == 302


@pytest.mark.parametrize("who", ["client", "viewer_token_client", "staff_client"])
def test_viewers_and_staff_read_everything(request, data, who):
    reader = request.getfixturevalue(who)
    for url in reads(data):
        assert read_allowed(reader.get(url)), url
    assert reader.get("/api/sales").json()["results"][0]["sales"] == 5
    # The dashboard is a page for a browser's session; a token is for the API and the stream.
    assert reader.get("/").status_code == (302 if who == "viewer_token_client" else 200)


def test_a_viewer_cannot_ingest_nor_use_the_admin(client, viewer_token_client, data):
    assert viewer_token_client.post(INGEST, {"rows": []}, format="json").status_code == 403
    # A session is no way to ingest at all (token only: no CSRF-able write).
    assert client.post(INGEST, {"rows": []}, content_type="application/json").status_code == 401
    assert client.get("/admin/").status_code == 302


def test_an_ingest_token_writes_but_does_not_read(ingest_client, data):
    for url in reads(data):
        response = ingest_client.get(url)
        assert response.status_code == 403, url
        assert "viewer group" in response.json()["error"], url
    response = ingest_client.post(INGEST, {"rows": [{"store": 1, "item": 1, "quantity": 2}]}, format="json")
    assert response.status_code == 201, response.content


def test_a_signed_in_user_outside_the_viewer_group_gets_403(data, django_user_model):
    outsider = Client()
    outsider.force_login(django_user_model.objects.create(username="outsider"))
    assert outsider.get("/api/sales").status_code == 403
    assert outsider.get("/").status_code == 403
    assert outsider.get("/api/stream/status").status_code == 403


def test_staff_use_the_admin(staff_client, data):
    assert staff_client.get("/admin/sales/sale/").status_code == 200


@override_settings(PUBLIC_READ=True)
def test_public_read_opens_reads_and_the_dashboard_but_not_writes_or_the_admin(anonymous_client, data):
    for url in reads(data):
        assert read_allowed(anonymous_client.get(url)), url
    assert anonymous_client.get("/").status_code == 200
    assert anonymous_client.post(INGEST, {"rows": []}, format="json").status_code == 401
    assert anonymous_client.get("/admin/").status_code == 302


def test_health_schema_docs_and_login_are_open(anonymous_client, data):
    for url in OPEN:
        assert anonymous_client.get(url).status_code == 200, url


def test_the_login_page_logs_a_viewer_in_and_back_to_where_they_were(data, django_user_model):
    from core.services import user_in_group_ensure

    user_in_group_ensure(username="ana", group="viewer", password="a-long-passphrase-1")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/login/?next=/%3Fstore%3D1")
    assert b"Sign in" in page.content
    token = page.cookies["csrftoken"].value
    wrong = browser.post(
        "/login/", {"username": "ana", "password": "nope", "next": "/?store=1", "csrfmiddlewaretoken": token}
    )
    assert wrong.status_code == 200 and b"correct username and password" in wrong.content
    right = browser.post(
        "/login/",
        {"username": "ana", "password": "a-long-passphrase-1", "next": "/?store=1", "csrfmiddlewaretoken": token},
    )
    assert (right.status_code, right["Location"]) == (302, "/?store=1")
    assert browser.get("/api/stores").status_code == 200
    assert browser.post("/logout/", {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value}).status_code == 302
    assert browser.get("/api/stores").status_code == 401


@pytest.mark.django_db
def test_an_editor_reads_what_a_viewer_reads_and_may_edit(editor, viewer):
    from core.access import user_can_edit, user_can_read

    assert user_can_read(user=editor) and user_can_edit(user=editor)
    assert user_can_read(user=viewer) and not user_can_edit(user=viewer)
