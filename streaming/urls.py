"""Routes of the live stream. Every route answers with and without a trailing slash."""

from django.urls import re_path

from streaming import api

urlpatterns = [
    re_path(r"^api/stream/?$", api.stream, name="stream"),
    re_path(r"^api/stream/status/?$", api.stream_status, name="stream-status"),
    re_path(r"^api/sales/ingest/?$", api.IngestView.as_view(), name="sales-ingest"),
]
