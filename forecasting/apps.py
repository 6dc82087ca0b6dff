from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"
    verbose_name = "Forecasts"

    def ready(self) -> None:
        from core.health import HEALTH_CHECKS
        from core.schedules import PERIODIC_SCHEDULES
        from forecasting.tasks import forecast_refit_after_load
        from sales.selectors import TODAY_FORECAST
        from sales.signals import history_loaded

        HEALTH_CHECKS.register("forecast", "forecasting.selectors.forecast_health")
        # The metrics' "today" block reads the forecast through this, so that sales never imports forecasting.
        TODAY_FORECAST.register("forecasting", "forecasting.selectors.forecast_today")
        PERIODIC_SCHEDULES.register("forecasting", "forecasting.tasks.periodic_schedules")
        history_loaded.connect(forecast_refit_after_load, dispatch_uid="forecasting.forecast_refit_after_load")
