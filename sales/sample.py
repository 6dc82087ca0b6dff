"""A realistic train.csv with the shape of the public store-item demand data.

Daily units per (store, item) are Poisson draws around
    base x store effect x item effect x weekday x month x yearly growth,
which gives an overall mean of about 52 and a standard deviation of about 29
per row for the default 10 stores x 50 items x 5 years (913,000 rows).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

# Monday..Sunday and January..December, as seen in the public data (relative levels).
WEEKDAY_EFFECT = np.array([0.81, 0.95, 0.95, 1.01, 1.07, 1.13, 1.19])
MONTH_EFFECT = np.array([0.74, 0.80, 0.93, 1.04, 1.10, 1.16, 1.23, 1.10, 1.02, 0.98, 1.03, 0.83])
YEARLY_GROWTH = 0.065
TARGET_MEAN = 52.3


MAX_ROWS = 50_000_000


def sample_generate(
    *,
    path: Path,
    stores: int = 10,
    items: int = 50,
    start: date = date(2013, 1, 1),
    end: date = date(2017, 12, 31),
    seed: int = 42,
) -> int:
    """Write the sample to `path` (date,store,item,sales; sorted by item, store,
    date like the public file). Returns the number of rows written."""
    if stores < 1 or items < 1:
        raise ValueError("stores and items must be at least 1")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if seed < 0:
        raise ValueError(f"seed {seed} must not be negative")
    rows = stores * items * ((end - start).days + 1)
    if rows > MAX_ROWS:
        # The whole sample is built in memory (about 100 bytes a row before it is written).
        raise ValueError(f"{stores} stores x {items} items x {(end - start).days + 1} days is {rows:,} rows; "
                         f"at most {MAX_ROWS:,}")  # fmt: skip
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    # Spread of the public data: stores within about 0.65-1.35, items within 0.3-2.5.
    store_effect = np.sort(rng.lognormal(0.0, 0.22, stores))[rng.permutation(stores)]
    item_effect = rng.lognormal(0.0, 0.55, items)
    years = (days - days[0]).days.to_numpy() / 365.25
    calendar = WEEKDAY_EFFECT[days.day_of_week] * MONTH_EFFECT[days.month - 1] * np.exp(YEARLY_GROWTH * years)
    # Smooth the month steps a little so the yearly curve is not a staircase.
    calendar = pd.Series(calendar).rolling(15, center=True, min_periods=1).mean().to_numpy() * (
        WEEKDAY_EFFECT[days.day_of_week]
        / pd.Series(WEEKDAY_EFFECT[days.day_of_week]).rolling(15, center=True, min_periods=1).mean().to_numpy()
    )
    level = np.einsum("s,i,d->isd", store_effect, item_effect, calendar)
    level *= TARGET_MEAN / level.mean()
    sales = rng.poisson(level)
    item_idx, store_idx, day_idx = np.indices(sales.shape)
    frame = pd.DataFrame(
        {
            "date": days.strftime("%Y-%m-%d").to_numpy()[day_idx.ravel()],
            "store": store_idx.ravel() + 1,
            "item": item_idx.ravel() + 1,
            "sales": sales.ravel(),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return len(frame)
