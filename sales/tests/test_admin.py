"""Admin pages render for staff on the generated history, with filters, search and
date drill-down, and never COUNT(*) the whole sales table."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sales import admin as sales_admin
from sales.models import DailyItemTotal, DailyStoreTotal, DailyTotal, Sale

pytestmark = pytest.mark.django_db


CHANGELISTS = [
    "/admin/sales/store/",
    "/admin/sales/store/?q=2",
    "/admin/sales/item/",
    "/admin/sales/sale/",
    "/admin/sales/sale/?store__id__exact=2",
    "/admin/sales/sale/?store__id__exact=2&item__id__exact=3",
    "/admin/sales/sale/?date__year=2016",
    "/admin/sales/sale/?date__year=2016&date__month=3",
    "/admin/sales/sale/?date__year=2016&date__month=3&date__day=5&store__id__exact=1",
    "/admin/sales/sale/?q=3",
    "/admin/sales/sale/?q=abc",
    "/admin/sales/sale/?p=3",
    "/admin/sales/sale/?o=4",
    "/admin/sales/dailytotal/",
    "/admin/sales/dailytotal/?date__year=2017&date__month=1",
    "/admin/sales/dailystoretotal/?store__id__exact=1",
    "/admin/sales/dailyitemtotal/?item__id__exact=4&date__year=2016",
]


@pytest.mark.parametrize("url", CHANGELISTS)
def test_changelists_render_for_staff(staff_client, sales_dataset, url):
    response = staff_client.get(url)
    assert response.status_code == 200, url
    assert b"Traceback" not in response.content


def test_sale_changelist_filters_and_drills_down(staff_client, sales_dataset):
    expected = sum(
        1 for r in sales_dataset if r.store_id == 2 and r.item_id == 3 and r.date.year == 2016 and r.date.month == 3
    )
    response = staff_client.get("/admin/sales/sale/?store__id__exact=2&item__id__exact=3&date__year=2016&date__month=3")
    assert response.context["cl"].result_count == expected
    assert len(response.context["cl"].result_list) == expected
    # The hierarchy now offers the days of March 2016.
    assert b"date__day=" in response.content


def test_sale_changelist_filters_generated_rows(staff_client, sales_dataset):
    from sales.services import SaleRow, sales_record_batch

    sales_record_batch(rows=[SaleRow(date=date(2030, 1, 1), store_id=1, item_id=2, sales=4)], generated=True)
    response = staff_client.get("/admin/sales/sale/?generated__exact=1")
    assert response.context["cl"].result_count == 1
    assert response.context["cl"].result_list[0].generated
    assert staff_client.get("/admin/sales/sale/?generated__exact=0").context["cl"].result_count == len(sales_dataset)


def test_date_hierarchy_offers_exactly_the_years_and_months_with_data(staff_client, sales_dataset):
    sales = sales_admin.ProbingDatesQuerySet(model=Sale)
    store_3_years = sorted({r.date.year for r in sales_dataset if r.store_id == 3})
    assert [d.year for d in sales.filter(store_id=3).dates("date", "year")] == store_3_years
    assert list(sales.filter(date__year=2016).dates("date", "month")) == sorted(
        {r.date.replace(day=1) for r in sales_dataset if r.date.year == 2016}
    )
    assert [d.year for d in sales.dates("date", "year", order="DESC")] == sorted(
        {r.date.year for r in sales_dataset}, reverse=True
    )
    assert list(sales.filter(store_id=999).dates("date", "year")) == []
    # The same choices reach the page.
    response = staff_client.get("/admin/sales/sale/?store__id__exact=3")
    assert all(f"date__year={year}".encode() in response.content for year in store_3_years)
    assert b"date__year=2015" not in response.content


@pytest.mark.parametrize(
    ("term", "matches"),
    [
        ("3", lambda r: 3 in (r.store_id, r.item_id)),
        ("1 4", lambda r: 1 in (r.store_id, r.item_id) and 4 in (r.store_id, r.item_id)),
        ("abc", lambda r: False),
        ("99999999999", lambda r: False),
    ],
)
def test_sale_search_matches_store_or_item_ids_exactly(staff_client, sales_dataset, term, matches):
    response = staff_client.get("/admin/sales/sale/", {"q": term})
    assert response.status_code == 200
    assert response.context["cl"].result_count == sum(1 for r in sales_dataset if matches(r))


def test_sale_change_page_is_read_only(staff_client, sales_dataset):
    sale = Sale.objects.order_by("id").first()
    response = staff_client.get(f"/admin/sales/sale/{sale.id}/change/")
    assert response.status_code == 200
    assert str(sale.sales).encode() in response.content
    assert b'name="_save"' not in response.content
    posted = staff_client.post(f"/admin/sales/sale/{sale.id}/change/", {"sales": sale.sales + 1})
    assert posted.status_code == 403
    sale.refresh_from_db()
    assert Sale.objects.get(id=sale.id).sales == sale.sales
    assert staff_client.get("/admin/sales/sale/add/").status_code == 403


@pytest.mark.parametrize("model", [DailyTotal, DailyStoreTotal, DailyItemTotal])
def test_rollup_change_pages_are_read_only(staff_client, sales_dataset, model):
    row = model.objects.order_by("id").first()
    response = staff_client.get(f"/admin/sales/{model._meta.model_name}/{row.id}/change/")
    assert response.status_code == 200
    assert b'name="_save"' not in response.content


def test_store_change_page_renders(staff_client, sales_dataset):
    assert staff_client.get("/admin/sales/store/1/change/").status_code == 200
    assert staff_client.get("/admin/sales/item/1/change/").status_code == 200


def test_admin_needs_a_staff_login(sales_dataset):
    response = Client(HTTP_HOST="localhost").get("/admin/sales/sale/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_unfiltered_sale_list_uses_the_planner_estimate_not_count(staff_client, sales_dataset, monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sales_sale")
    monkeypatch.setattr(sales_admin, "EXACT_COUNT_BELOW", 1)
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get("/admin/sales/sale/")
    assert response.status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(*)" in q["sql"] and '"sales_sale"' in q["sql"]]
    assert counts == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'sales_sale'")
        estimate = cursor.fetchone()[0]
    assert response.context["cl"].result_count == estimate
    # Filtered lists still count exactly.
    filtered = staff_client.get("/admin/sales/sale/?store__id__exact=1")
    assert filtered.context["cl"].result_count == sum(1 for r in sales_dataset if r.store_id == 1)
