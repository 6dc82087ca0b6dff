"""How good a forecast was: SMAPE, MAE and interval coverage against the actual days (pure numpy)."""

from __future__ import annotations

import math

import numpy as np

from forecasting.counts import Forecast


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """SMAPE as in the store-item demand competition: mean of 200|F-A|/(|A|+|F|), a term is 0 when both are 0."""
    actual = np.asarray(actual, dtype=float)
    forecast = np.asarray(forecast, dtype=float)
    denominator = np.abs(actual) + np.abs(forecast)
    terms = np.divide(
        200 * np.abs(forecast - actual), denominator, out=np.zeros_like(denominator), where=denominator != 0
    )
    return float(terms.mean()) if len(terms) else math.nan


def accuracy_compute(*, actual: np.ndarray, forecast: Forecast, naive: Forecast) -> dict:
    """SMAPE, MAE and interval coverage (percent of actuals inside) of a forecast and of seasonal naive."""
    actual = np.asarray(actual, dtype=float)

    def coverage(lower, upper) -> float:
        return float(100 * np.mean((actual >= lower) & (actual <= upper)))

    return {
        "smape": smape(actual, forecast.yhat),
        "mae": float(np.mean(np.abs(actual - forecast.yhat))),
        "coverage_80": coverage(forecast.lower_80, forecast.upper_80),
        "coverage_95": coverage(forecast.lower_95, forecast.upper_95),
        "naive_smape": smape(actual, naive.yhat),
        "naive_mae": float(np.mean(np.abs(actual - naive.yhat))),
        "naive_coverage_80": coverage(naive.lower_80, naive.upper_80),
        "naive_coverage_95": coverage(naive.lower_95, naive.upper_95),
        "holdout_days": len(actual),
    }
