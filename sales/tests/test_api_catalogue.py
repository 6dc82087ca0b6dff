"""The catalogue API's hierarchy: /api/regions, /api/categories, /api/departments (lists, details by
code, search, filters), and the stores' and items' rows with their places and attributes."""

from __future__ import annotations

import pytest

from sales.models import Category, Department, Item, Region, Store

pytestmark = pytest.mark.django_db


@pytest.fixture
def hierarchy():
    texas, california = Region.objects.create(code="TX", name="Texas"), Region.objects.create(code="CA")
    foods, hobbies = Category.objects.create(code="FOODS"), Category.objects.create(code="BREAD/BAKERY", name="Bakery")
    foods_1 = Department.objects.create(code="FOODS_1", category=foods)
    foods_2 = Department.objects.create(code="FOODS_2", category=foods, name="Fresh")
    bread = Department.objects.create(code="2712", category=hobbies)
    Store.objects.create(id=1, code="TX_1", name="Austin", region=texas, attributes={"type": "A", "cluster": "3"})
    Store.objects.create(id=2, code="CA_1", name="Store CA_1", region=california)
    Store.objects.create(id=3, code="9", name="Store 9")
    Item.objects.create(id=1, code="FOODS_1_001", name="Milk", department=foods_1, attributes={"perishable": "1"})
    Item.objects.create(id=2, code="FOODS_2_001", name="Apples", department=foods_2)
    Item.objects.create(id=3, code="105574", name="Item 105574", department=bread)
    Item.objects.create(id=4, code="X", name="Loose")


def codes(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.content)
    return [row["code"] for row in response.json()["results"]]


def test_the_levels_list_in_code_order_and_are_found_by_code_or_name(api_client, hierarchy):
    assert api_client.get("/api/regions").json()["results"] == [
        {"code": "CA", "name": ""},
        {"code": "TX", "name": "Texas"},
    ]
    assert codes(api_client, "/api/categories") == ["BREAD/BAKERY", "FOODS"]
    assert api_client.get("/api/departments?category=FOODS").json()["results"] == [
        {"code": "FOODS_1", "name": "", "category": "FOODS"},
        {"code": "FOODS_2", "name": "Fresh", "category": "FOODS"},
    ]
    assert codes(api_client, "/api/regions?search=texas") == ["TX"]
    assert codes(api_client, "/api/departments?search=fresh") == ["FOODS_2"]
    assert codes(api_client, "/api/categories?search=bak") == ["BREAD/BAKERY"]
    assert api_client.get("/api/categories/BREAD/BAKERY/").json() == {"code": "BREAD/BAKERY", "name": "Bakery"}
    assert api_client.get("/api/departments/FOODS_2").json()["category"] == "FOODS"
    missing = api_client.get("/api/regions/NV")
    assert missing.status_code == 404 and missing.json()["error"] == "no region with code 'NV'"


def test_stores_and_items_carry_their_places_and_attributes(api_client, hierarchy):
    assert api_client.get("/api/stores/TX_1").json() == {
        "code": "TX_1",
        "name": "Austin",
        "region": "TX",
        "attributes": {"type": "A", "cluster": "3"},
    }
    assert api_client.get("/api/stores/9").json()["region"] is None
    assert api_client.get("/api/items/FOODS_1_001").json() == {
        "code": "FOODS_1_001",
        "name": "Milk",
        "department": "FOODS_1",
        "category": "FOODS",
        "attributes": {"perishable": "1"},
        "unit": "units",  # no unit of its own: the default
    }
    loose = api_client.get("/api/items/X").json()
    assert (loose["department"], loose["category"]) == (None, None)


def test_stores_and_items_filter_by_level_codes(api_client, hierarchy):
    assert codes(api_client, "/api/stores?region=TX") == ["TX_1"]
    assert codes(api_client, "/api/stores?region=TX,CA") == ["TX_1", "CA_1"]
    assert codes(api_client, "/api/stores?region=TX&region=CA&search=austin") == ["TX_1"]
    assert codes(api_client, "/api/items?category=FOODS") == ["FOODS_1_001", "FOODS_2_001"]
    assert codes(api_client, "/api/items?category=FOODS&department=FOODS_2") == ["FOODS_2_001"]
    assert codes(api_client, "/api/items?category=BREAD/BAKERY&department=FOODS_2") == []
    assert codes(api_client, "/api/items?department=2712") == ["105574"]
    assert codes(api_client, "/api/stores?region=NV") == []  # an unknown code selects nothing
    assert codes(api_client, "/api/departments?category=NONE") == []


@pytest.mark.parametrize(
    ("url", "parameter"),
    [("/api/stores?region=" + "x" * 65, "region"), ("/api/items?department=a%01", "department")],
)
def test_a_bad_level_code_is_a_400_naming_the_parameter(api_client, hierarchy, url, parameter):
    response = api_client.get(url)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


def test_the_admin_shows_and_filters_the_hierarchy(staff_client, hierarchy):
    for url in (
        "/admin/sales/region/",
        "/admin/sales/category/",
        "/admin/sales/department/?category__id__exact=1",
        "/admin/sales/store/?region__id__exact=1",
        "/admin/sales/item/?q=FOODS_1",
        "/admin/sales/item/1/change/",
    ):
        assert staff_client.get(url).status_code == 200, url
    page = staff_client.get("/admin/sales/item/?q=foods_1").content.decode()
    assert "Milk" in page and "Apples" not in page
    assert "perishable" in staff_client.get("/admin/sales/item/").content.decode()
