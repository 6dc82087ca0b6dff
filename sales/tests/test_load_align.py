"""--align-to-today's arithmetic (no database: the loader's own test covers the load)."""

from datetime import date, timedelta

import pytest

from sales.services import align_shift_days


@pytest.mark.parametrize("last", [date(2017, 12, 31), date(2013, 3, 5), date(2099, 1, 1)])
@pytest.mark.parametrize("today", [date(2026, 11, 24), date(2026, 11, 22), date(2026, 11, 29)])
def test_align_shift_is_whole_weeks_and_lands_in_the_week_before_today(last, today):
    shift = align_shift_days(last=last, today=today)
    assert shift % 7 == 0
    assert today - timedelta(days=7) <= last + timedelta(days=shift) <= today - timedelta(days=1)
