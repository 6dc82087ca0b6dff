"""What the apps register with core and sales at start-up."""

from __future__ import annotations

from core import health
from forecasting.selectors import forecast_today
from sales import selectors


def test_every_app_registers_its_health_check_in_app_order():
    assert list(health.HEALTH_CHECKS) == ["database", "redis", "stream", "forecast"]


def test_forecasting_provides_the_metrics_forecast_of_today():
    assert selectors._today_forecast_provider is forecast_today
