"""Pagination of the sales API.

Its own module because settings.REST_FRAMEWORK names it as the default
pagination class: DRF imports it while defining GenericAPIView, so it must not
import DRF's views or viewsets itself (sales.api does, which made a cycle).
"""

from __future__ import annotations

from django.core.paginator import InvalidPage, Paginator
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination


class CountedPaginator(Paginator):
    """A paginator told its count (from the rollups) instead of running COUNT(*) on the table."""

    def __init__(self, object_list, per_page, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # fills Paginator.count, a cached_property


class SalesPagination(PageNumberPagination):
    """Page-number pagination that rejects (400) a bad page or page_size instead of
    clamping it or answering 404."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: f"must be a whole number from 1 to {self.max_page_size}, got {raw[:40]!r}."
                }
            )
        return int(raw)

    def paginate_queryset(self, queryset, request, view=None):
        page_size = self.get_page_size(request)
        raw = request.query_params.get(self.page_query_param) or "1"
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise exceptions.ValidationError(
                {self.page_query_param: f"must be a whole number from 1, got {raw[:40]!r}."}
            )
        # A view that knows its row count cheaply (SaleViewSet: from the rollups) says so.
        count = getattr(view, "row_count", None)
        if count is not None:
            paginator = CountedPaginator(queryset, page_size, count=count())
        else:
            paginator = self.django_paginator_class(queryset, page_size)
        try:
            self.page = paginator.page(int(raw))
        except InvalidPage:
            raise exceptions.ValidationError(
                {self.page_query_param: f"page {raw} is out of range (there are {paginator.num_pages} pages)."}
            ) from None
        self.request = request
        return list(self.page)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
                parameter["description"] = f"Rows per page, 1 to {self.max_page_size} (default {self.page_size})."
            elif parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "default": 1}
        return parameters
