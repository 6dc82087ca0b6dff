"""The sales write services on their own: recorded batches add units and count new rows, and an
append changes only what its file holds."""

from __future__ import annotations

from datetime import date

import pytest

from sales.models import DailyItemTotal, DailyTotal, MonthlyStoreTotal, Sale
from sales.services import SaleRow, sales_load_csv, sales_record_batch
from sales.tests.factories import items_create, rollups_mismatches, stores_create

pytestmark = pytest.mark.django_db

DAY = date(2017, 5, 4)


def test_a_batch_adds_units_to_existing_days_and_counts_only_new_ones():
    stores_create(ids=[1, 2])
    items_create(ids=[1, 2])
    assert sales_record_batch(rows=[SaleRow(DAY, 1, 1, 5), SaleRow(DAY, 1, 1, 2), SaleRow(DAY, 2, 2, 0)]) == 7
    assert sales_record_batch(rows=[SaleRow(DAY, 1, 1, 3), SaleRow(DAY, 1, 2, 4)]) == 7
    assert sorted(Sale.objects.values_list("store_id", "item_id", "sales")) == [(1, 1, 10), (1, 2, 4), (2, 2, 0)]
    total = DailyTotal.objects.get(date=DAY)
    assert (total.sales, total.rows) == (14, 3)
    month = MonthlyStoreTotal.objects.get(store_id=1, month=DAY.replace(day=1))
    assert (month.sales, month.rows) == (14, 2)
    assert sales_record_batch(rows=[]) == 0
    assert rollups_mismatches() == []


def test_an_append_overwrites_its_days_and_leaves_every_other_rollup_row_alone(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("date,store,item,sales\n2017-05-03,1,1,4\n2017-05-04,1,1,6\n2017-05-04,1,2,1\n")
    sales_load_csv(path=path, followups=False)
    untouched = DailyItemTotal.objects.filter(date=date(2017, 5, 3)).values_list("id", "item_id", "sales", "rows")
    before = list(untouched)
    more = tmp_path / "b.csv"
    more.write_text("date,store,item,sales\n2017-05-04,1,1,9\n2017-05-05,2,1,3\n")
    summary = sales_load_csv(path=more, append=True, followups=False)
    assert summary.total_rows == 4
    assert list(untouched) == before  # the same rows, not rebuilt
    assert DailyItemTotal.objects.get(date=DAY, item_id=1).sales == 9
    assert rollups_mismatches() == []
