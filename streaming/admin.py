from django.contrib import admin

from streaming.models import SalesEvent, SalesProfile


@admin.register(SalesProfile)
class SalesProfileAdmin(admin.ModelAdmin):
    list_display = ["store", "item", "level", "trend", "dispersion", "fitted_at"]
    list_filter = ["store"]


@admin.register(SalesEvent)
class SalesEventAdmin(admin.ModelAdmin):
    list_display = ["id", "timestamp", "date", "source", "kind", "total"]
    list_filter = ["source", "kind", "date"]
    readonly_fields = [f.name for f in SalesEvent._meta.fields]
