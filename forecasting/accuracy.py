"""How good a forecast was: SMAPE, MAE and interval coverage against the actual days (pure numpy)."""

from __future__ import annotations

import math

import numpy as np

from forecasting.counts import CountForecast, Forecast, count_bands, forecasts_stack


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


SCORE_FIELDS = ("smape", "mae", "coverage_80", "coverage_95")


def scores_rows(*, actual: np.ndarray, forecast: CountForecast) -> dict[str, np.ndarray]:
    """Per row of 2-D arrays (series x days), the figures of `accuracy_compute` for a forecast's
    bands at their nominal content: SMAPE and MAE of its median, 80 / 95 % coverage (percent of days
    inside). One vectorised pass over every series of a level instead of one per series."""
    actual = np.atleast_2d(np.asarray(actual, dtype=float))
    bands = count_bands(forecast.atleast_2d())
    point = bands.yhat
    denominator = np.abs(actual) + np.abs(point)
    terms = np.divide(200 * np.abs(point - actual), denominator, out=np.zeros_like(denominator), where=denominator != 0)

    def coverage(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        return 100 * np.mean((actual >= lower) & (actual <= upper), axis=1)

    return {
        "smape": terms.mean(axis=1),
        "mae": np.mean(np.abs(actual - point), axis=1),
        "coverage_80": coverage(bands.lower_80, bands.upper_80),
        "coverage_95": coverage(bands.lower_95, bands.upper_95),
    }


def candidate_scores(*, actual: np.ndarray, forecasts: dict[str, CountForecast]) -> dict[str, dict[str, float]]:
    """Every candidate's backtest figures for one series: {candidate: {field: value}} (SCORE_FIELDS)."""
    names = list(forecasts)
    stacked = forecasts_stack([forecasts[n] for n in names])
    rows = scores_rows(actual=np.tile(np.asarray(actual, dtype=float), (len(names), 1)), forecast=stacked)
    return {name: {field: float(rows[field][i]) for field in SCORE_FIELDS} for i, name in enumerate(names)}


def accuracy_of(*, published: dict[str, float], naive: dict[str, float], days: int) -> dict:
    """A series' accuracy record (as `accuracy_compute` returns it) from its published model's and
    seasonal naive's figures (SCORE_FIELDS)."""
    return (
        {field: float(published[field]) for field in SCORE_FIELDS}
        | {f"naive_{field}": float(naive[field]) for field in SCORE_FIELDS}
        | {"holdout_days": days}
    )
