"""The API's paging contract for aggregated reads (README, "API"): every answer is bounded.

- JSON: at most a page of rows, and `next`, the URL of the following page (null on the last one).
  Pages are keyset pages (`after=<token>` in `next`), so a deep page costs what it returns.
- CSV: `?format=csv` (or `Accept: text/csv`) streams every row of the selection, read from the
  database in batches, with memory flat however many rows there are. Cells that a spreadsheet
  would run as a formula are escaped (`csv_cell`).

Views take part with `CsvExportMixin` and answer `csv_response(...)` when `wants_csv()`.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.urls import replace_query_param

from core.numbers import NumberJSONRenderer, number_text

MAX_TOKEN_LENGTH = 400
CSV_BATCH_ROWS = 2000
# Cells starting with these are formulas to a spreadsheet (tab and carriage return too, per OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "csv"],
    description="json (default): one bounded page, with `next`. csv: every row of the selection, streamed.",
)
CSV_RESPONSE = {"type": "string", "description": "CSV with a header row: every row of the selection."}


def csv_cell(value: Any) -> Any:
    """`value` as a CSV cell a spreadsheet shows rather than runs: text starting with = + - @ (or a
    tab or carriage return) gets a leading apostrophe. Numbers are left as they are (a Decimal without
    trailing zeros: 12, 2.5)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, Decimal):
        return number_text(value)
    return value


class CSVRenderer(BaseRenderer):
    """Lets DRF's content negotiation accept `?format=csv`; the views stream the body themselves."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        rows = data if isinstance(data, list) else [data]
        return b"".join(_csv_chunks(header=list(rows[0]) if rows else [], rows=[list(r.values()) for r in rows]))


class CsvExportMixin:
    """For an APIView: accept `?format=csv`; errors stay JSON whatever format was asked for."""

    request: Any  # the APIView's (a DRF Request, where Django's View says HttpRequest)

    def get_renderers(self):
        return [*super().get_renderers(), CSVRenderer()]

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # DRF's answer to an unknown ?format=
            raise exceptions.ValidationError({"format": "must be json or csv."}) from None

    def wants_csv(self) -> bool:
        return getattr(self.request.accepted_renderer, "format", None) == "csv"

    def finalize_response(self, request, response, *args, **kwargs):
        renderer = getattr(request, "accepted_renderer", None)
        if getattr(response, "status_code", 200) >= 400 and renderer is not None and renderer.format == "csv":
            request.accepted_renderer, request.accepted_media_type = NumberJSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


def csv_response(*, filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> StreamingHttpResponse:
    """A CSV download of `rows` (an iterator that may read the database as it goes)."""
    chunks = _csv_chunks(header=header, rows=rows)
    response = StreamingHttpResponse(_async_chunks(chunks), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_chunks(*, header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for number, row in enumerate(rows, 1):
        writer.writerow([csv_cell(value) for value in row])
        if number % CSV_BATCH_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def _async_chunks(chunks: Iterator[bytes]):
    """Django serves a sync iterator under ASGI by reading all of it into a list first; this hands
    it over a batch at a time instead, each read on the request's own thread (its database
    connection and server-side cursor)."""
    done = object()
    step = sync_to_async(lambda: next(chunks, done), thread_sensitive=True)
    while (chunk := await step()) is not done:
        yield chunk


def keyset_token_make(values: list[Any]) -> str:
    """An opaque `after` token holding a page's last ordering values (JSON-able: dates as ISO text)."""
    payload = json.dumps([v.isoformat() if hasattr(v, "isoformat") else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def keyset_token_read(token: str, *, parameter: str = "after") -> list[Any]:
    """The values of a token `keyset_token_make` made; a 400 naming `parameter` otherwise."""
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise ValueError("length")
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(values, list):
            raise ValueError("shape")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise exceptions.ValidationError(
            {parameter: "must be the `after` token of a previous page's `next` link."}
        ) from None
    return values


def next_link(request, **params: Any) -> str:
    """This request's URL with `params` replaced (the next page's)."""
    url = request.build_absolute_uri()
    for name, value in params.items():
        url = replace_query_param(url, name, value)
    return url
