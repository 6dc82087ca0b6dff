"""A small generated history (2 stores x 3 items, two years, aligned to end last week):
12 series, enough for yearly terms, a 90-day backtest and a quick refit."""

from __future__ import annotations

import pytest

from core.testing import history_load


@pytest.fixture
def small_history(db, tmp_path):
    history_load(tmp_path)
