"""The upload history in the admin: read-only (jobs are written by the upload and its worker)."""

from django.contrib import admin

from uploads.models import UploadJob


@admin.register(UploadJob)
class UploadJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "filename",
        "kind",
        "user",
        "status",
        "mode",
        "dry_run",
        "rows",
        "seconds",
        "created_at",
        "file_deleted",
        "expired_at",
    )
    list_filter = ("status", "kind", "mode", "dry_run", "file_deleted")
    search_fields = ("filename", "user__username")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
