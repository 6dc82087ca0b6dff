"""The hierarchy and attributes a load stores: from attribute files (Favorita's stores.csv and items.csv)
and from the sales file's own columns (M5), in the load's transaction; contradictions are errors naming
the file, line and code, and leave everything as it was. Real PostgreSQL (the load's COPY)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from sales import rollups
from sales.models import Category, DailyDepartmentTotal, Department, Item, Region, Sale, Store
from sales.sample_layouts import FAVORITA_NEVER_SOLD, sample_layout_write

pytestmark = pytest.mark.django_db(transaction=True)


def load(*args: str) -> str:
    out = io.StringIO()
    call_command("load_train", *args, "--no-followups", stdout=out, stderr=out)
    return out.getvalue()


def favorita(folder: Path) -> tuple[Path, Path, Path]:
    """Favorita's three files. Its units are made whole (and returns positive): fractional units are
    another branch's work, and the hierarchy does not depend on them."""
    sample_layout_write(layout="favorita", folder=folder)
    train = folder / "train.csv"
    rows = list(csv.reader(train.read_text().splitlines()))
    for row in rows[1:]:
        row[4] = str(abs(round(Decimal(row[4]))))
    train.write_text("\n".join(",".join(row) for row in rows) + "\n")
    return train, folder / "stores.csv", folder / "items.csv"


def catalogue() -> dict[str, tuple]:
    """Every store and item: code -> (parent codes..., attributes)."""
    stores = {
        s.code: (s.region.code if s.region else None, s.attributes) for s in Store.objects.select_related("region")
    }
    items = {
        i.code: (
            i.department.code if i.department else None,
            i.department.category.code if i.department and i.department.category else None,
            i.attributes,
        )
        for i in Item.objects.select_related("department__category")
    }
    return stores | items


def test_favorita_files_store_the_hierarchy_the_attributes_and_the_items_never_sold(tmp_path):
    train, stores, items = favorita(tmp_path)
    output = load(str(train), "--stores", str(stores), "--items", str(items))
    assert "read 3 stores" in output
    quito = Store.objects.get(code="1")
    assert (quito.region.code, quito.attributes) == ("Pichincha", {"city": "Quito", "type": "D", "cluster": "13"})
    assert quito.id == 1  # a whole-number code keeps its number as id
    produce = Item.objects.get(code="105574")
    assert (produce.department.code, produce.department.category.code) == ("2014", "PRODUCE")
    assert produce.attributes == {"perishable": "1"}
    never_sold = Item.objects.get(code=FAVORITA_NEVER_SOLD)
    assert never_sold.department.category.code == "CLEANING"
    assert not Sale.objects.filter(item=never_sold).exists()
    listed = {row["item_nbr"] for row in csv.DictReader(items.read_text().splitlines())}
    assert set(Item.objects.values_list("code", flat=True)) == listed
    assert set(Region.objects.values_list("code", flat=True)) == {"Pichincha", "Guayas"}


def test_attribute_files_alone_add_to_a_loaded_history(tmp_path):
    train, stores, items = favorita(tmp_path)
    load(str(train))
    sales = set(Sale.objects.values_list("date", "store_id", "item_id", "sales"))
    assert not Item.objects.filter(department__isnull=False).exists()
    load("--stores", str(stores), "--items", str(items))
    assert Item.objects.get(code="96995").department.code == "1093"
    assert Store.objects.get(code="24").attributes["city"] == "Guayaquil"
    assert Item.objects.filter(code=FAVORITA_NEVER_SOLD).exists()
    assert set(Sale.objects.values_list("date", "store_id", "item_id", "sales")) == sales


def test_the_m5_file_stores_categories_departments_and_states(tmp_path):
    sample = sample_layout_write(layout="m5", folder=tmp_path)
    sales_file, calendar = sample.files
    load(str(sales_file), "--calendar", str(calendar))
    header, *rows = list(csv.reader(sales_file.read_text().splitlines()))
    at = {name: header.index(name) for name in ("item_id", "dept_id", "cat_id", "store_id", "state_id")}
    expected = {r[at["item_id"]]: (r[at["dept_id"]], r[at["cat_id"]], {}) for r in rows}
    expected |= {r[at["store_id"]]: (r[at["state_id"]], {}) for r in rows}
    assert catalogue() == expected
    assert Department.objects.filter(category__isnull=True).count() == 0
    assert set(Category.objects.values_list("code", flat=True)) == {r[at["cat_id"]] for r in rows}


def test_an_item_in_two_departments_names_the_file_line_and_code_and_changes_nothing(tmp_path):
    train, stores, items = favorita(tmp_path)
    load(str(train), "--stores", str(stores), "--items", str(items))
    before = catalogue(), set(Sale.objects.values_list("date", "store_id", "item_id", "sales"))
    moved = tmp_path / "moved.csv"
    lines = items.read_text().splitlines()
    lines[3] = lines[3].replace("BEVERAGES,1120", "GROCERY I,1093")  # item 103520
    moved.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError) as caught:
        load(str(train), "--items", str(moved))
    assert str(caught.value) == (
        f"{moved}: line 4, column class: '103520' puts item '103520' in department '1093'; "
        "the catalogue has it in department '1120'"
    )
    with pytest.raises(CommandError, match="line 4, column class: '103520'"):
        load("--items", str(moved))
    assert (catalogue(), set(Sale.objects.values_list("date", "store_id", "item_id", "sales"))) == before


def test_a_sales_file_that_moves_an_item_is_refused_in_its_own_name(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("date,store,item,sales,department\n2020-01-01,A,X,1,D1\n2020-01-02,A,X,2,D1\n")
    load(str(good))
    bad = tmp_path / "bad.csv"
    bad.write_text("date,store,item,sales,department\n2020-01-01,A,X,1,D2\n")
    with pytest.raises(CommandError, match=f"^{bad}: line 2, column department: 'X' puts item 'X' in department"):
        load(str(bad))
    assert Item.objects.get(code="X").department.code == "D1"
    assert not Department.objects.filter(code="D2").exists()


def test_an_attribute_row_without_a_code_is_refused_and_changes_nothing(tmp_path):
    train, *_ = favorita(tmp_path)
    load(str(train))
    before = catalogue()
    (tmp_path / "bad_stores.csv").write_text("store_nbr,city,state,type,cluster\n1,Quito,Pichincha,D,13\n,X,Y,A,1\n")
    with pytest.raises(CommandError) as caught:
        load("--stores", str(tmp_path / "bad_stores.csv"))
    assert str(caught.value) == f"{tmp_path / 'bad_stores.csv'}: line 3, column store_nbr: '' has no store code"
    assert catalogue() == before
    assert not Region.objects.exists()


def test_a_category_with_a_comma_gets_a_code_without_one_and_keeps_its_name(tmp_path):
    items = tmp_path / "items.csv"
    items.write_text('item_nbr,family,class,perishable\n1,"LIQUOR,WINE,BEER",3001,0\n')
    load("--items", str(items))
    category = Item.objects.get(code="1").department.category
    assert (category.code, category.name) == ("LIQUOR/WINE/BEER", "LIQUOR,WINE,BEER")


def by_department() -> dict:
    """Units per department code (None: outside the hierarchy), from the rollup and from the base table."""
    rollup = DailyDepartmentTotal.objects.values_list("department__code").annotate(units=Sum("sales"))
    base = Sale.objects.values_list("item__department__code").annotate(units=Sum("sales"))
    return {"rollup": dict(rollup), "base": dict(base)}


def test_the_department_rollups_are_rebuilt_when_items_with_sales_get_a_department(tmp_path, monkeypatch):
    train, stores, items = favorita(tmp_path)
    load(str(train))
    rebuilt = []
    real = rollups.rollups_hierarchy_rebuild
    monkeypatch.setattr(
        rollups, "rollups_hierarchy_rebuild", lambda *, cursor: rebuilt.append(1) or real(cursor=cursor)
    )
    load("--stores", str(stores))
    assert rebuilt == []  # a store's region is read through a join
    load("--items", str(items))
    assert rebuilt == [1]
    load("--stores", str(stores), "--items", str(items))
    assert rebuilt == [1]  # nothing changed the second time
    figures = by_department()
    assert figures["rollup"] == figures["base"]
    assert None not in figures["rollup"] and len(figures["rollup"]) > 1


def test_an_append_that_places_items_with_sales_rebuilds_the_rollups_in_its_transaction(tmp_path, monkeypatch):
    first = tmp_path / "first.csv"
    first.write_text("date,store,item,sales\n2020-01-01,A,X,1\n2020-01-01,A,Y,2\n")
    load(str(first))
    rebuilt = []
    real = rollups.rollups_hierarchy_rebuild
    monkeypatch.setattr(
        rollups, "rollups_hierarchy_rebuild", lambda *, cursor: rebuilt.append(1) or real(cursor=cursor)
    )
    more = tmp_path / "more.csv"
    more.write_text("date,store,item,sales,department,category\n2020-01-02,A,X,3,D1,C1\n2020-01-02,A,Z,4,D2,C1\n")
    output = load(str(more), "--append")
    assert "appended (4 rows in total)" in output
    assert rebuilt == [1]
    assert catalogue()["X"] == ("D1", "C1", {}) and catalogue()["Z"] == ("D2", "C1", {})
    assert catalogue()["Y"] == (None, None, {})
    newer = tmp_path / "newer.csv"
    newer.write_text("date,store,item,sales,department,category\n2020-01-03,A,X,5,D1,C1\n2020-01-03,A,W,6,D2,C1\n")
    load(str(newer), "--append")
    assert rebuilt == [1]  # no item with sales changed place: the deltas are added
    assert Sale.objects.count() == 6
    figures = by_department()
    assert figures["rollup"] == figures["base"] and figures["rollup"][None] == 2  # Y's units


def test_an_items_file_sets_each_items_unit(tmp_path):
    items = tmp_path / "items.csv"
    items.write_text("item,category,department,unit\nA,PRODUCE,2014,kg\nB,PRODUCE,2014,\n")
    load("--items", str(items))
    assert dict(Item.objects.values_list("code", "unit")) == {"A": "kg", "B": ""}
    long = tmp_path / "long.csv"
    long.write_text("item,unit\nA," + "x" * 40 + "\n")
    with pytest.raises(CommandError, match=f"^{long}: line 2, column unit: .* is longer than 32 characters"):
        load("--items", str(long))
    assert Item.objects.get(code="A").unit == "kg"
