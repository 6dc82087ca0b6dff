"""The page itself, without a browser: what the template embeds and links."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.test import override_settings

from sales.models import DailyTotal, Item, Store

STATIC = Path(__file__).resolve().parents[1] / "static" / "frontend"


def bootstrap_of(response) -> dict:
    match = re.search(r'<script id="dashboard-bootstrap" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, "the page embeds its bootstrap data"
    return json.loads(match.group(1))


@pytest.mark.django_db
@override_settings(TIME_ZONE="Europe/Berlin", STREAMING_INTERVAL_SECONDS=30, FORECAST_DAYS=14)
def test_the_page_embeds_the_selected_names_and_the_date_span_never_the_catalogue(client):
    Store.objects.bulk_create([Store(id=2, code="CA_2", name="Store 2"), Store(id=1, code="1", name="Store 1")])
    Item.objects.create(id=7, code="FOODS_3_090", name="Milk")
    DailyTotal.objects.bulk_create(
        [DailyTotal(date=date(2017, 1, 3), sales=5), DailyTotal(date=date(2016, 12, 30), sales=9)]
    )
    assert bootstrap_of(client.get("/"))["named"] == {"stores": [], "items": []}
    response = client.get("/?store=CA_2,nope&item=FOODS_3_090")
    assert response.status_code == 200
    data = bootstrap_of(response)
    assert data["named"]["stores"] == [{"code": "CA_2", "name": "Store 2"}]
    assert data["named"]["items"] == [{"code": "FOODS_3_090", "name": "Milk"}]
    assert (data["date_from"], data["date_to"]) == ("2016-12-30", "2017-01-03")
    assert data["stream_interval_seconds"] == 30
    assert data["forecast_days"] == 14
    assert data["time_zone"] == "Europe/Berlin"


@pytest.mark.django_db
def test_an_empty_database_still_serves_the_page(client):
    data = bootstrap_of(client.get("/"))
    assert data["named"] == {"stores": [], "items": []} and data["date_to"] is None


@pytest.mark.django_db
def test_names_are_escaped_inside_the_embedded_json(client):
    Store.objects.create(id=1, code="1", name="</script><script>alert(1)</script>")
    response = client.get("/?store=1")
    assert "<script>alert(1)" not in response.text
    assert bootstrap_of(response)["named"]["stores"][0]["name"] == "</script><script>alert(1)</script>"


@pytest.mark.django_db
def test_the_page_loads_only_our_own_static_files(client):
    html = client.get("/").text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r'"echarts": "([^"]+)"', html)
    external = [u for u in urls if u.startswith(("http:", "https:", "//"))]
    assert external == []  # no CDN: the page works with no internet
    for url in [u for u in urls if u.startswith("/static/")]:
        assert (STATIC.parent / url.removeprefix("/static/")).exists() or "vendor" in url, url


@pytest.mark.django_db
def test_the_page_only_answers_reads(client):
    assert client.head("/").status_code == 200
    assert client.post("/").status_code == 405


# On disk, unminified; production serves the files compressed (about a third). Each page loads only its own
# modules, so each page has its own budget. The dashboard's grew from 100 KB with Biome's formatting (one property
# per line), the pickers' search as you type and the paged breakdowns it follows.
PAGE_ASSETS_BUDGET_KB = {"dashboard": 120, "alerts": 20, "login": 4}
OTHER_PAGES_ASSETS = {"alerts": ("js/alerts.js", "css/alerts.css"), "login": ("css/login.css",)}


def test_our_own_javascript_and_css_stay_under_their_budget():
    sizes = {page: sum((STATIC / name).stat().st_size for name in names) for page, names in OTHER_PAGES_ASSETS.items()}
    everything = sum(p.stat().st_size for d in ("js", "css") for p in (STATIC / d).rglob("*") if p.is_file())
    sizes["dashboard"] = everything - sum(sizes.values())
    over = {page: f"{size / 1024:.1f} KB" for page, size in sizes.items() if size >= PAGE_ASSETS_BUDGET_KB[page] * 1024}
    assert over == {}, f"own JS+CSS over budget: {over}"


@pytest.mark.django_db
def test_the_live_curve_before_the_page_opened_comes_from_the_event_log(client):
    from django.utils import timezone

    from streaming.services import sales_ingest

    Store.objects.create(id=1, code="1", name="Store 1")
    Item.objects.create(id=1, code="1", name="Item 1")
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    for minute, units in [(62, 5), (64, 7), (180, 11)]:
        sales_ingest(rows=[(1, 1, units)], timestamp=midnight + timedelta(minutes=minute))
    curve = bootstrap_of(client.get("/"))["today_curve"]
    # 01:02 and 01:04 share the 01:00-01:05 slot; 03:00 opens the 03:00-03:05 slot.
    assert curve == [[round(65 / 60, 3), 12], [round(185 / 60, 3), 23]]


@pytest.mark.django_db
def test_the_feed_embeds_todays_batches_as_the_stream_sends_them_without_reading_their_rows(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from streaming.models import SalesEvent
    from streaming.selectors import sales_event_summary
    from streaming.services import sales_ingest

    Store.objects.bulk_create([Store(id=1, code="1", name="Store 1"), Store(id=2, code="2", name="Store 2")])
    Item.objects.bulk_create([Item(id=1, code="1", name="Item 1"), Item(id=4, code="4", name="Item 4")])
    now = timezone.now()
    events = [
        sales_ingest(rows=[(1, 1, 2), (2, 4, 3), (2, 1, 1), (1, 4, 0)], timestamp=now - timedelta(minutes=2)),
        sales_ingest(rows=[(2, 4, 5)], timestamp=now - timedelta(minutes=1)),
    ]
    # One logged before the breakdown was kept: it is derived from its rows.
    SalesEvent.objects.filter(id=events[0].id).update(row_breakdown=None)

    with CaptureQueriesContext(connection) as queries:
        feed = bootstrap_of(client.get("/"))["recent_batches"]
    expected = [sales_event_summary(SalesEvent.objects.get(id=event.id).payload()) for event in events]
    assert feed == expected
    assert feed[0] | {"row_count": 3, "stores": [["1", 2], ["2", 4]], "items": [["1", 3], ["4", 3]]} == feed[0]
    batch_reads = [q["sql"] for q in queries if 'FROM "streaming_salesevent"' in q["sql"] and "ORDER BY" in q["sql"]]
    assert batch_reads and all('"rows"' not in sql for sql in batch_reads), batch_reads
