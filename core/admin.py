from django.contrib import admin

from core.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are listed and revoked (deleted) here; they are made by `manage.py access_token_create`,
    which shows the key once."""

    list_display = ["prefix", "user", "created", "expires"]
    list_filter = ["expires"]
    search_fields = ["user__username", "prefix"]
    readonly_fields = ["user", "prefix", "created", "expires"]
    exclude = ["digest"]

    def has_add_permission(self, request) -> bool:
        return False
