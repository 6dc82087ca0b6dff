from django.urls import re_path

from uploads import api, tus, views

KEY = r"(?P<key>[0-9a-f]{32})"

urlpatterns = [
    re_path(r"^upload/?$", views.upload_page, name="upload-page"),
    re_path(r"^api/uploads/files/?$", tus.tus_create, name="upload-tus"),
    re_path(rf"^api/uploads/files/{KEY}/?$", tus.tus_file, name="upload-tus-file"),
    re_path(r"^api/uploads/?$", api.UploadListView.as_view(), name="upload-list"),
    re_path(rf"^api/uploads/{KEY}/?$", api.UploadDetailView.as_view(), name="upload-detail"),
    re_path(rf"^api/uploads/{KEY}/preview/?$", api.UploadPreviewView.as_view(), name="upload-preview"),
    re_path(rf"^api/uploads/{KEY}/start/?$", api.UploadStartView.as_view(), name="upload-start"),
    re_path(rf"^api/uploads/{KEY}/cancel/?$", api.UploadCancelView.as_view(), name="upload-cancel"),
    re_path(rf"^api/uploads/{KEY}/report\.csv$", api.UploadReportView.as_view(), name="upload-report"),
]
