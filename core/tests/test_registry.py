"""What the apps register with core and sales at start-up."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import health
from core.registry import Registry
from forecasting.selectors import forecast_today
from sales import selectors, services
from streaming import services as streaming_services


def test_every_app_registers_its_health_check_in_app_order():
    assert health.HEALTH_CHECKS.names() == ["database", "redis", "stream", "forecast", "alerts"]


def test_forecasting_provides_the_metrics_forecast_of_today():
    assert selectors.TODAY_FORECAST.one() is forecast_today


def test_streaming_fills_the_gap_after_an_aligned_load():
    assert services.GAP_FILL.one() is streaming_services.history_days_generate


def test_a_registry_imports_a_path_when_it_is_used_and_keeps_the_order():
    registry = Registry("thing")
    registry.register("later", "nowhere.module.thing")
    registry.register("now", len)
    assert registry.names() == ["later", "now"]
    assert registry.resolve("now") is len
    with pytest.raises(ImportError):
        registry.resolve("later")
    registry.register("later", "core.registry.Registry")
    assert dict(registry.items()) == {"later": Registry, "now": len}


def test_a_single_provider_registry_refuses_a_second_provider():
    registry = Registry("provider")
    assert registry.one() is None
    registry.register("a", len)
    assert registry.one() is len
    registry.register("b", max)
    with pytest.raises(ImproperlyConfigured, match="more than one provider registered: a, b"):
        registry.one()
