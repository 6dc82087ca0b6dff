"""Bottom-up reconciliation of a level's forecasts (pure numpy).

A store's, an item's and the total's mean forecast is the sum of their store-items' means, so the
means add up across levels; each keeps its own model's spread.
"""

from __future__ import annotations

import numpy as np


def bottom_up(*, children: np.ndarray, parent_of: np.ndarray, parents: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums of the rows of `children` (series x days) into `parents` rows, `parent_of[i]` being the
    parent row of child i. Returns (sums, has_children): a parent without children sums to zero,
    and keeps its own forecast."""
    sums = np.zeros((parents, children.shape[1]))
    np.add.at(sums, parent_of, children)
    has_children = np.bincount(parent_of, minlength=parents) > 0
    return sums, has_children
