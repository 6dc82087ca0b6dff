"""Pagination of the sales API.

Its own module because settings.REST_FRAMEWORK names it as the default
pagination class: DRF imports it while defining GenericAPIView, so it must not
import DRF's views or viewsets itself (sales.api does, which made a cycle).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Q, QuerySet
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


class CountedPaginator(Paginator):
    """A paginator told its count (from the rollups) instead of running COUNT(*) on the table."""

    def __init__(self, object_list, per_page, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # fills Paginator.count, a cached_property


# A token holds a few ordering values: far shorter than this.
MAX_TOKEN_LENGTH = 400


def _order_fields(queryset: QuerySet) -> list[str]:
    """The ORDER BY of `queryset` as field names ("-date", "store_id", ...): the keyset's columns."""
    return [str(field) for field in (queryset.query.order_by or queryset.model._meta.ordering)]


def keyset_token(row: Any, fields: list[str]) -> str:
    """An opaque token for "the rows after `row` in this order": its ordering values, base64 JSON."""
    values = [getattr(row, field.lstrip("-")) for field in fields]
    values = [value.isoformat() if isinstance(value, date) else value for value in values]
    payload = json.dumps({"order": fields, "values": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def keyset_after(queryset: QuerySet, token: str, *, parameter: str) -> QuerySet:
    """The rows of `queryset` that come after the row `token` names, in the queryset's order.

    (f1, f2, f3) > (v1, v2, v3) written as f1 > v1 OR (f1 = v1 AND f2 > v2) OR ..., plus a plain
    f1 >= v1 so that PostgreSQL starts its index scan at the token's row instead of the first one:
    a deep page costs what it returns, not what lies before it (OFFSET reads and drops those)."""
    fields = _order_fields(queryset)
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise ValueError("length")
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        order, values = decoded["order"], decoded["values"]
        if order != fields or len(values) != len(fields):
            raise ValueError("order")
        model = queryset.model
        values = [model._meta.get_field(f.lstrip("-")).to_python(v) for f, v in zip(fields, values, strict=True)]
        if any(isinstance(v, int) and not -(2**31) <= v < 2**31 for v in values):
            raise ValueError("range")
    except (ValueError, TypeError, KeyError, binascii.Error, DjangoValidationError) as error:
        reason = "it was made for another ordering" if str(error) == "order" else "it is not a token this API made"
        raise exceptions.ValidationError(
            {parameter: f"must be the `after` token of a previous page with the same ordering; {reason}."}
        ) from None
    after = Q()
    equal = Q()
    for field, value in zip(fields, values, strict=True):
        name, descending = field.lstrip("-"), field.startswith("-")
        after |= equal & Q(**{f"{name}__{'lt' if descending else 'gt'}": value})
        equal &= Q(**{name: value})
    first, descending = fields[0].lstrip("-"), fields[0].startswith("-")
    return queryset.filter(after, **{f"{first}__{'lte' if descending else 'gte'}": values[0]})


# Rows that page numbers may skip; deeper pages are read with `after` tokens.
MAX_PAGE_OFFSET = 100_000


class SalesPagination(PageNumberPagination):
    """Page-number pagination that rejects (400) a bad page or page_size instead of
    clamping it or answering 404, with keyset pages beside it: every page carries an `after`
    token, and `?after=<token>` answers the rows after that page, however deep, at the cost of
    one page (its `next` link keeps using `after`)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    after_query_param = "after"

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
        self.request = request
        self.order_fields = _order_fields(queryset)
        self.count = view.row_count() if getattr(view, "row_count", None) else None
        token = request.query_params.get(self.after_query_param)
        if token is not None:
            if self.page_query_param in request.query_params:
                raise exceptions.ValidationError(
                    {self.after_query_param: f"cannot be combined with {self.page_query_param}: give one or the other."}
                )
            rows = list(keyset_after(queryset, token, parameter=self.after_query_param)[: page_size + 1])
            self.page, self.keyset_more = None, len(rows) > page_size
            self.rows = rows[:page_size]
            return self.rows
        raw = request.query_params.get(self.page_query_param) or "1"
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise exceptions.ValidationError(
                {self.page_query_param: f"must be a whole number from 1, got {raw[:40]!r}."}
            )
        if (int(raw) - 1) * page_size >= MAX_PAGE_OFFSET:
            # OFFSET reads and drops every row before the page: past this, keyset pages cost less.
            deepest = MAX_PAGE_OFFSET // page_size
            raise exceptions.ValidationError(
                {
                    self.page_query_param: f"page {raw[:40]} is deeper than page numbers go ({deepest} at this "
                    f"page_size): read on with `{self.after_query_param}`, the token of the page before."
                }
            )
        # A view that knows its row count cheaply (SaleViewSet: from the rollups) says so.
        if self.count is not None:
            paginator = CountedPaginator(queryset, page_size, count=self.count)
        else:
            paginator = self.django_paginator_class(queryset, page_size)
        try:
            self.page = paginator.page(int(raw))
        except InvalidPage:
            raise exceptions.ValidationError(
                {self.page_query_param: f"page {raw} is out of range (there are {paginator.num_pages} pages)."}
            ) from None
        self.rows = list(self.page)
        self.keyset_more = self.page.has_next()
        return self.rows

    def _after_token(self) -> str | None:
        return keyset_token(self.rows[-1], self.order_fields) if self.rows and self.keyset_more else None

    def get_next_link(self):
        if self.page is not None:
            return super().get_next_link()
        token = self._after_token()
        if token is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.after_query_param, token)

    def get_previous_link(self):
        # Keyset pages go forward only; page-number pages link back as before.
        return None if self.page is None else super().get_previous_link()

    def get_paginated_response(self, data):
        count = self.page.paginator.count if self.page is not None else self.count
        if count is None:  # a keyset page of a view that cannot count cheaply
            count = len(data)
        return Response(
            {
                "count": count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "after": self._after_token(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["after"] = {
            "type": "string",
            "nullable": True,
            "description": "Token for the rows after this page (null on the last page): pass it as `after` "
            "to read on at the cost of one page however deep, instead of a page number.",
        }
        return response

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
                parameter["description"] = (
                    f"Page number; the first {MAX_PAGE_OFFSET:,} rows only (page x page_size): read on with `after`."
                )
        parameters.append(
            {
                "name": self.after_query_param,
                "required": False,
                "in": "query",
                "description": "Keyset paging: the `after` token of the previous page (not with `page`). "
                "Each page costs the same however deep; `next` keeps using it.",
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_LENGTH},
            }
        )
        return parameters
