"""A small generated history (2 stores x 3 items, two years, aligned to end last week):
12 series, enough for yearly terms, a 90-day backtest and a quick refit."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from sales.sample import sample_generate
from sales.services import sales_load_csv


def history_load(tmp_path, *, stores: int = 2, items: int = 3, start: date = date(2016, 1, 1), edit=None) -> None:
    path = tmp_path / "train.csv"
    sample_generate(path=path, stores=stores, items=items, start=start, end=date(2017, 12, 31))
    if edit is not None:
        frame = pd.read_csv(path)
        edit(frame)
        frame.to_csv(path, index=False)
    sales_load_csv(path=path, align_to_today=True, followups=False)


@pytest.fixture
def small_history(db, tmp_path):
    history_load(tmp_path)
