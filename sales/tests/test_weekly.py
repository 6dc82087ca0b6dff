"""A weekly history (one row a week, every date on one weekday, e.g. Walmart's Fridays): recognised from
its dates, its KPIs per week over whole weeks, and no generated days between its weeks."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from sales import selectors
from sales.models import DailyTotal, Sale
from sales.services import SaleRow, history_gap_fill_since_last, sales_record_batch
from sales.tests.factories import FIRST_FRIDAY, weekly_rows

pytestmark = pytest.mark.django_db

WEEKS = 60


def weekly_csv(path: Path, *, weeks: int) -> Path:
    lines = ["date,store,item,sales"]
    lines += [f"{r.date},{r.store_id},{r.item_id},{r.sales}" for r in weekly_rows(weeks=weeks)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_frequency_is_weekly_when_every_date_falls_on_one_weekday():
    assert selectors.history_frequency() == "D"  # nothing loaded
    rows = weekly_rows(weeks=2)
    sales_record_batch(rows=rows)
    assert selectors.history_frequency() == "D"  # two dates: too few to say
    sales_record_batch(rows=[SaleRow(date=FIRST_FRIDAY + timedelta(weeks=2), store_id=1, item_id=1, sales=1)])
    assert selectors.history_frequency() == "W"
    # One sale on a Wednesday (the ingest API, say) makes it a daily history again.
    sales_record_batch(rows=[SaleRow(date=FIRST_FRIDAY + timedelta(days=5), store_id=1, item_id=1, sales=1)])
    assert selectors.history_frequency() == "D"


def test_weekly_metrics_are_per_week_over_whole_weeks(api_client):
    rows = weekly_rows(weeks=WEEKS)
    sales_record_batch(rows=rows)
    body = api_client.get("/api/sales/metrics").json()
    by_week: dict[date, int] = {}
    for row in rows:
        by_week[row.date] = by_week.get(row.date, 0) + row.sales
    last = max(by_week)
    total = sum(by_week.values())
    assert body["frequency"] == "W"
    assert body["weeks"] == WEEKS
    assert body["average_per_week"] == round(total / WEEKS, 1)
    assert body["best_day"] == {"date": last.isoformat(), "sales": by_week[last]}
    # 4 weeks against the 4 before, 52 against the 52 before (not 30 days: 4 or 5 weekly rows).
    recent = [by_week[last - timedelta(weeks=k)] for k in range(8)]
    assert body["last_30_days"]["days"] == 28
    assert body["last_30_days"]["sales"] == sum(recent[:4])
    assert body["last_30_days"]["previous"] == sum(recent[4:])
    assert body["last_7_days"] == {
        "sales": recent[0],
        "previous": recent[1],
        "growth_pct": body["last_7_days"]["growth_pct"],
        "days": 7,
    }
    assert body["year_over_year"]["days"] == 364
    assert body["year_over_year"]["previous"] is None  # 60 weeks do not cover 104


def test_the_page_bootstrap_says_weekly(client):
    sales_record_batch(rows=weekly_rows(weeks=5))
    response = client.get("/")
    assert response.context["bootstrap"]["frequency"] == "W"


def test_an_aligned_weekly_load_moves_by_whole_weeks_and_generates_nothing(tmp_path, settings):
    settings.LIVE_GENERATOR = True  # the gap filler is on: the history's frequency is what stops it
    out = io.StringIO()
    call_command(
        "load_train",
        str(weekly_csv(tmp_path / "weekly.csv", weeks=WEEKS)),
        "--align-to-today",
        "--no-followups",
        stdout=out,
    )
    today = timezone.localdate()
    dates = sorted(DailyTotal.objects.values_list("date", flat=True))
    assert len(dates) == WEEKS and {d.weekday() for d in dates} == {FIRST_FRIDAY.weekday()}
    assert today - timedelta(days=7) <= dates[-1] < today  # in the week before today
    assert not Sale.objects.filter(generated=True).exists()
    assert "weekly history" in out.getvalue() and "no days generated" in out.getvalue()
    assert "the live generator is on" not in out.getvalue()  # its note does not apply to a weekly history
    # A later gap fill (the demo's catch-up after days off) leaves it alone too.
    assert history_gap_fill_since_last() == []
    out = io.StringIO()
    call_command("fill_gap", stdout=out)
    assert "weekly history: no days generated" in out.getvalue()
    assert DailyTotal.objects.count() == WEEKS
