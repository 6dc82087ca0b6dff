"""A history aligned to today runs up to today: the days between its end and today are generated
from the live generator's profile, marked generated, with the rollups in step."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from sales.models import DailyItemTotal, DailyStoreTotal, DailyTotal, Sale
from sales.sample import sample_generate
from streaming import selectors
from streaming.simulation import expected_daily

pytestmark = pytest.mark.django_db
GAP_DAYS = 4


def sample_ending_before_today(tmp_path, *, gap_days: int):
    """A sample whose last day, once aligned to today (whole weeks), falls `gap_days + 1` days before today."""
    end = date(2017, 12, 31)
    while end.weekday() != (timezone.localdate() - timedelta(days=gap_days + 1)).weekday():
        end -= timedelta(days=1)
    path = tmp_path / "train.csv"
    sample_generate(path=path, stores=2, items=3, start=date(2016, 1, 1), end=end)
    return path


def test_an_aligned_load_fills_the_days_up_to_yesterday_with_generated_sales(tmp_path):
    path = sample_ending_before_today(tmp_path, gap_days=GAP_DAYS)
    out = StringIO()
    call_command("load_train", str(path), align_to_today=True, no_followups=True, stdout=out)
    today = timezone.localdate()
    gap = [today - timedelta(days=k) for k in range(GAP_DAYS, 0, -1)]
    assert f"{GAP_DAYS} days after it generated ({gap[0]} to {gap[-1]}" in out.getvalue()

    # No empty day from the first to yesterday; nothing for today (the live stream makes today).
    days = list(DailyTotal.objects.order_by("date").values_list("date", flat=True))
    assert days[-1] == today - timedelta(days=1)
    assert len(days) == (days[-1] - days[0]).days + 1
    # Generated rows are exactly the gap's, and each rollup agrees with them.
    generated = Sale.objects.filter(generated=True)
    assert sorted(set(generated.values_list("date", flat=True))) == gap
    assert not Sale.objects.filter(date__lt=gap[0], generated=True).exists()
    for day in gap:
        units = Sale.objects.filter(date=day).aggregate(s=Sum("sales"))["s"]
        assert DailyTotal.objects.get(date=day).sales == units
        assert DailyStoreTotal.objects.filter(date=day).aggregate(s=Sum("sales"))["s"] == units
        assert DailyItemTotal.objects.filter(date=day).aggregate(s=Sum("sales"))["s"] == units
    # Drawn from the same profile as the live stream: about the expected level (6 series x 4 days, loose).
    profiles = selectors.profile_arrays()
    expected = sum(expected_daily(profiles, day=day, trend_horizon_days=365).sum() for day in gap)
    assert abs(float(generated.aggregate(s=Sum("sales"))["s"]) / expected - 1) < 0.25


def test_a_load_that_is_not_aligned_fills_nothing(tmp_path):
    path = sample_ending_before_today(tmp_path, gap_days=GAP_DAYS)
    call_command("load_train", str(path), no_followups=True, stdout=StringIO())
    assert not Sale.objects.filter(generated=True).exists()


def test_a_demo_restarted_after_days_off_is_filled_up_to_today(tmp_path):
    # A history that stopped three days before yesterday, as a demo left off over a weekend.
    path = tmp_path / "train.csv"
    end = timezone.localdate() - timedelta(days=4)
    sample_generate(path=path, stores=2, items=3, start=end - timedelta(days=730), end=end)
    call_command("load_train", str(path), no_followups=True, stdout=StringIO())
    out = StringIO()
    call_command("bootstrap", align_to_today=True, stdout=out)
    assert "generated 3 days up to today" in out.getvalue()
    days = list(DailyTotal.objects.order_by("date").values_list("date", flat=True))
    assert days[-1] == timezone.localdate() - timedelta(days=1)
    assert len(days) == (days[-1] - days[0]).days + 1
    assert sorted(set(Sale.objects.filter(generated=True).values_list("date", flat=True))) == days[-3:]
    # Run again: nothing is missing, nothing is added.
    out = StringIO()
    call_command("fill_gap", stdout=out)
    assert "no whole day missing" in out.getvalue()


def test_a_history_that_ends_long_ago_is_not_filled(tmp_path):
    path = sample_ending_before_today(tmp_path, gap_days=GAP_DAYS)
    call_command("load_train", str(path), no_followups=True, stdout=StringIO())  # ends in 2017
    call_command("fill_gap", stdout=StringIO())
    assert not Sale.objects.filter(generated=True).exists()
