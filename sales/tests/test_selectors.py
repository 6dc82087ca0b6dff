"""The sales selectors on their own: which table answers which filters, how a date range is split
into whole months and edge days, and totals per store or item."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sales import selectors
from sales.models import DailyItemTotal, DailyStoreTotal, DailyTotal, Sale
from sales.services import SaleRow, sales_record_batch
from sales.tests.factories import items_create, stores_create

F = selectors.SalesFilters


@pytest.mark.parametrize(
    ("filters", "group_by", "table"),
    [
        (F(), None, DailyTotal),
        (F(date_from=date(2017, 1, 1)), None, DailyTotal),
        (F(stores=(1,)), None, DailyStoreTotal),
        (F(), "store", DailyStoreTotal),
        (F(items=(2, 3)), None, DailyItemTotal),
        (F(), "item", DailyItemTotal),
        (F(stores=(1,)), "item", Sale),
        (F(items=(1,)), "store", Sale),
        (F(stores=(1,), items=(1,)), None, Sale),
    ],
)
def test_one_resolver_picks_the_smallest_table_that_can_answer(filters, group_by, table):
    assert selectors.rollup_for(filters=filters, group_by=group_by) is table


@pytest.mark.parametrize(
    ("date_from", "date_to", "days", "months"),
    [
        (None, None, (), (None, None)),
        (date(2017, 1, 1), date(2017, 1, 31), (), (date(2017, 1, 1), date(2017, 1, 1))),
        (date(2017, 1, 2), date(2017, 1, 30), ((date(2017, 1, 2), date(2017, 1, 30)),), None),
        (
            date(2016, 12, 31),
            date(2017, 3, 1),
            ((date(2016, 12, 31), date(2016, 12, 31)), (date(2017, 3, 1), date(2017, 3, 1))),
            (date(2017, 1, 1), date(2017, 2, 1)),
        ),
        (date(2017, 2, 1), None, (), (date(2017, 2, 1), None)),
        (None, date(2016, 2, 28), ((date(2016, 2, 1), date(2016, 2, 28)),), (None, date(2016, 1, 1))),
        (date(9999, 12, 2), None, ((date(9999, 12, 2), None),), None),
        (None, date(1, 1, 30), ((None, date(1, 1, 30)),), None),
    ],
)
def test_a_date_range_splits_into_whole_months_and_the_days_at_either_end(date_from, date_to, days, months):
    split = selectors.calendar_split(date_from=date_from, date_to=date_to)
    assert split == selectors.CalendarSplit(days=days, months=months)


@pytest.mark.django_db
def test_totals_by_key_add_the_whole_months_and_the_days_at_either_end():
    stores_create(ids=[1, 2])
    items_create(ids=[1])
    days = [date(2017, 1, 31), date(2017, 2, 1), date(2017, 2, 28), date(2017, 3, 1)]
    sales_record_batch(
        rows=[SaleRow(date=d, store_id=s, item_id=1, sales=s * 10 + n) for n, d in enumerate(days) for s in (1, 2)]
    )
    everything = selectors.sales_by_key(filters=F(), by="store")
    assert everything == {1: (10 + 11 + 12 + 13, 4), 2: (20 + 21 + 22 + 23, 4)}
    edges = selectors.sales_by_key(filters=F(date_from=date(2017, 1, 31), date_to=date(2017, 2, 28)), by="store")
    assert edges == {1: (10 + 11 + 12, 3), 2: (20 + 21 + 22, 3)}
    assert selectors.sales_by_key(filters=F(date_from=date(2017, 3, 2)), by="item") == {}
    assert selectors.sale_count(filters=F(items=(1,), date_to=date(2017, 2, 1))) == 4


@pytest.mark.django_db
def test_history_frames_hold_every_row_once_in_whole_series_and_bounded_frames():
    stores_create(ids=(1, 2, 3))
    items_create(ids=(1, 2, 3, 4, 5))
    days = [date(2016, 1, 1) + timedelta(days=k) for k in range(40)]
    rows = [
        SaleRow(date=day, store_id=store, item_id=item, sales=(store * 7 + item * 3 + day.day) % 11)
        for day in days
        for store in (1, 2, 3)
        for item in (1, 2, 3, 4, 5)
        if not (item == 5 and day < date(2016, 1, 20))  # a launch mid-history
    ]
    sales_record_batch(rows=rows)
    frames = list(selectors.history_frames(max_rows=2 * 3 * 40))  # two items (all stores) a frame
    assert [sorted(frame["item"].unique()) for frame in frames] == [[1, 2], [3, 4], [5]]
    assert all(len(frame) <= 240 for frame in frames)
    got = sorted(
        (row.date.date(), row.store, row.item, row.sales) for frame in frames for row in frame.itertuples(index=False)
    )
    assert got == sorted((r.date, r.store_id, r.item_id, r.sales) for r in rows)
    assert str(frames[0]["date"].dtype).startswith("datetime64")


@pytest.mark.django_db
def test_unknown_ids_are_those_with_no_row_or_with_sales_no_history(django_assert_num_queries):
    stores_create(ids=[1, 2])
    items_create(ids=[5])
    # Store 2 exists but never sold: known as a name, unknown as a history.
    sales_record_batch(rows=[SaleRow(date=date(2017, 1, 2), store_id=1, item_id=5, sales=3)])

    unknown = selectors.stores_items_unknown(store_ids=[1, 2, 9], item_ids=[5, 7])
    assert unknown == selectors.UnknownIds(stores=frozenset({9}), items=frozenset({7}))
    assert unknown
    with_sales = selectors.stores_items_unknown(store_ids=[1, 2], item_ids=[5], with_sales=True)
    assert with_sales == selectors.UnknownIds(stores=frozenset({2}), items=frozenset())
    with django_assert_num_queries(0):
        assert not selectors.stores_items_unknown()
    with django_assert_num_queries(1):
        assert not selectors.stores_items_unknown(store_ids=[1, 1, 2])


@pytest.mark.django_db
def test_history_keys_are_the_stores_items_and_pairs_with_rows():
    stores_create(ids=(1, 2, 3))
    items_create(ids=(4, 5))
    # Store 3 has no rows; a day of zero sales is still a row.
    sales_record_batch(
        rows=[
            SaleRow(date=date(2017, 1, 2), store_id=2, item_id=5, sales=0),
            SaleRow(date=date(2017, 1, 2), store_id=1, item_id=4, sales=3),
            SaleRow(date=date(2017, 2, 9), store_id=1, item_id=5, sales=1),
        ]
    )
    assert selectors.history_keys() == selectors.HistoryKeys(
        stores=[1, 2], items=[4, 5], pairs=[(1, 4), (1, 5), (2, 5)]
    )
