from django.contrib import admin

from alerts.models import (
    AlertState,
    ContactPoint,
    DeliveryAttempt,
    Notification,
    Rule,
    Silence,
    StateChange,
    StoreHours,
)


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "level", "store", "item", "condition", "direction", "pending_seconds"]
    list_filter = ["enabled", "level", "condition"]


@admin.register(ContactPoint)
class ContactPointAdmin(admin.ModelAdmin):
    # The sealed secrets are left out: the admin never shows them back (set them through the API).
    fields = ["name", "kind", "addresses", "failures", "last_error", "last_success_at", "last_failure_at"]
    readonly_fields = ["failures", "last_error", "last_success_at", "last_failure_at"]
    list_display = ["name", "kind", "failures", "last_success_at", "last_failure_at"]


@admin.register(AlertState)
class AlertStateAdmin(admin.ModelAdmin):
    list_display = ["rule", "store_id", "item_id", "state", "since"]
    list_filter = ["state"]


@admin.register(StateChange)
class StateChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "rule", "store_id", "item_id", "from_state", "to_state", "actual", "expected", "silenced_by"]
    list_filter = ["to_state"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "idempotency_key", "contact_point", "kind", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]


admin.site.register(DeliveryAttempt)
admin.site.register(Silence)
admin.site.register(StoreHours)
