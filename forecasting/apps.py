from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"
    verbose_name = "Forecasts"

    def ready(self) -> None:
        from core.health import health_check_register
        from forecasting.selectors import forecast_today
        from sales.selectors import today_forecast_provider_register

        health_check_register("forecast", "forecasting.selectors.forecast_health")
        # The metrics' "today" block reads the forecast through this, so that sales never imports forecasting.
        today_forecast_provider_register(forecast_today)
