"""Units that are not whole counts: fractions (kilograms, dollars) and returns (negative rows), loaded
from each public layout with totals exact to the last decimal. Real PostgreSQL; the load's COPY needs
real transactions."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from sales import selectors
from sales.models import DailyStoreTotal, DailyTotal, MonthlyStoreItemTotal, Sale, Store
from sales.sample_layouts import sample_layout_write

pytestmark = pytest.mark.django_db(transaction=True)


def load(*args: str) -> str:
    out = io.StringIO()
    call_command("load_train", *args, "--no-followups", stdout=out, stderr=out)
    return out.getvalue()


def source_totals(*, layout: str, folder: Path) -> tuple[Decimal, dict[str, Decimal]]:
    """The file's units summed with Python's Decimal, in all and per store code."""
    per_store: dict[str, Decimal] = defaultdict(Decimal)
    if layout == "m5":
        with (folder / "sales_train_evaluation.csv").open() as handle:
            for row in csv.DictReader(handle):
                per_store[row["store_id"]] += sum(
                    (Decimal(v) for k, v in row.items() if k.startswith("d_")), Decimal(0)
                )
    else:
        store, units = {"favorita": ("store_nbr", "unit_sales"), "walmart": ("Store", "Weekly_Sales")}[layout]
        with (folder / "train.csv").open() as handle:
            for row in csv.DictReader(handle):
                per_store[row[store]] += Decimal(row[units])
    return sum(per_store.values(), Decimal(0)), dict(per_store)


def layout_load(*, layout: str, folder: Path) -> None:
    sample_layout_write(layout=layout, folder=folder, seed=3)
    if layout == "m5":
        load(str(folder / "sales_train_evaluation.csv"), "--calendar", str(folder / "calendar.csv"))
    elif layout == "favorita":
        load(str(folder / "train.csv"), "--stores", str(folder / "stores.csv"), "--items", str(folder / "items.csv"))
    else:
        load(str(folder / "train.csv"))


@pytest.mark.parametrize("layout", ["m5", "favorita", "walmart"])
def test_each_layout_loads_with_totals_exact_to_the_last_decimal(tmp_path, layout):
    layout_load(layout=layout, folder=tmp_path)
    total, per_store = source_totals(layout=layout, folder=tmp_path)

    assert Sale.objects.aggregate(total=Sum("sales"))["total"] == total
    # Every rollup sums to the same figure, and so do the reads served from them.
    assert DailyTotal.objects.aggregate(total=Sum("sales"))["total"] == total
    assert MonthlyStoreItemTotal.objects.aggregate(total=Sum("sales"))["total"] == total
    assert selectors.sales_metrics(filters=selectors.SalesFilters())["total_sales"] == total
    by_store = DailyStoreTotal.objects.values("store__code").annotate(units=Sum("sales"))
    assert {row["store__code"]: row["units"] for row in by_store} == per_store


def test_fractions_and_returns_load_exactly(tmp_path):
    layout_load(layout="favorita", folder=tmp_path)
    with (tmp_path / "train.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    # The sample has what the real file has: produce sold by weight and returns.
    assert any("." in row["unit_sales"] and not row["unit_sales"].endswith(".0") for row in rows)
    assert any(row["unit_sales"].startswith("-") for row in rows)
    stored = {
        (str(day), store, item): units
        for day, store, item, units in Sale.objects.values_list("date", "store__code", "item__code", "sales")
    }
    assert stored == {(row["date"], row["store_nbr"], row["item_nbr"]): Decimal(row["unit_sales"]) for row in rows}


def test_whole_decimal_and_negative_forms_load_and_add_up(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text(
        "date,store,item,sales\n"
        "2020-01-01,A,x,2.474\n2020-01-01,A,y,-1\n2020-01-01,B,x,3.0\n2020-01-02,A,x,5.020\n"
        "2020-01-02,B,y,-0.5\n2020-01-03,A,x,999999999.999\n2020-01-03,B,x,-0\n"
    )
    load(str(path))
    assert Sale.objects.aggregate(total=Sum("sales"))["total"] == Decimal("1000000008.993")
    assert dict(DailyTotal.objects.values_list("date__day", "sales")) == {
        1: Decimal("4.474"),
        2: Decimal("4.520"),
        3: Decimal("999999999.999"),
    }


@pytest.mark.parametrize(
    ("value", "shown"),
    [("abc", "'abc'"), ("1.2345", "'1.2345'"), ("1000000000", "'1000000000'"), ("-1.0001", "'-1.0001'")],
)
@pytest.mark.parametrize("append", [False, True])
def test_a_bad_decimal_names_the_line_and_changes_nothing(tmp_path, value, shown, append):
    layout_load(layout="favorita", folder=tmp_path)
    before = (
        sorted(Sale.objects.values_list("date", "store_id", "item_id", "sales")),
        sorted(DailyTotal.objects.values_list("date", "sales", "rows")),
        sorted(Store.objects.values_list("code", flat=True)),
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(f"date,store,item,sales\n2013-06-01,1,96995,2.5\n2013-06-01,NEW,96995,{value}\n")

    with pytest.raises(CommandError) as caught:
        load(str(bad), *(["--append"] if append else []))

    assert str(caught.value).startswith(f"{bad}: line 3, column sales: {shown} is not a number of units")
    after = (
        sorted(Sale.objects.values_list("date", "store_id", "item_id", "sales")),
        sorted(DailyTotal.objects.values_list("date", "sales", "rows")),
        sorted(Store.objects.values_list("code", flat=True)),
    )
    assert after == before


def test_an_append_with_returns_keeps_the_rollups_in_step(tmp_path):
    layout_load(layout="walmart", folder=tmp_path)
    total = Sale.objects.aggregate(total=Sum("sales"))["total"]
    (tmp_path / "more.csv").write_text("date,store,item,sales\n2010-02-05,1,1,-16734.53\n2030-01-04,1,1,-20.25\n")
    load(str(tmp_path / "more.csv"), "--append")
    first = Decimal(next(csv.DictReader((tmp_path / "train.csv").open()))["Weekly_Sales"])
    expected = total - first - Decimal("16734.53") - Decimal("20.25")
    assert Sale.objects.aggregate(total=Sum("sales"))["total"] == expected
    assert DailyTotal.objects.aggregate(total=Sum("sales"))["total"] == expected
    assert MonthlyStoreItemTotal.objects.aggregate(total=Sum("sales"))["total"] == expected
