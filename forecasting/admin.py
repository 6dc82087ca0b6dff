from django.contrib import admin

from forecasting.models import ForecastRun, SeriesForecast


@admin.register(ForecastRun)
class ForecastRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "started_at",
        "finished_at",
        "training_start",
        "training_end",
        "horizon_days",
        "series_count",
        "fallback_count",
    ]
    list_filter = ["status"]
    readonly_fields = [f.name for f in ForecastRun._meta.fields]


@admin.register(SeriesForecast)
class SeriesForecastAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "level", "store_id", "item_id", "model", "order", "fallback", "fitted_at"]
    list_filter = ["level", "model", "fallback"]
    search_fields = ["fallback_reason"]
    raw_id_fields = ["run"]
    exclude = ["own", "backtest"]  # large arrays; the API shows them
    readonly_fields = [
        "run",
        "level",
        "store_id",
        "item_id",
        "order",
        "order_selected_on",
        "fallback",
        "fallback_reason",
        "model",
        "model_reason",
        "info",
        "accuracy",
        "fitted_at",
    ]
