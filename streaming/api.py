"""HTTP side of the live stream: GET /api/stream (SSE), POST /api/sales/ingest,
GET /api/stream/status.

The stream is an async Django view returning a StreamingHttpResponse over an
async generator, not a Channels AsyncHttpConsumer: a consumer whose handle()
loops never gets group messages or http.disconnect dispatched
(django/channels#1249, #1302). Django 5 cancels the response on disconnect;
the generator's `finally` detaches it from the hub.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, DataError
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import IngestAccess, read_access_check_async
from core.api import body_size_check, error_response
from core.numbers import UnitsField
from core.params import MAX_CODE_LENGTH, ParameterError, code_list_param, empty_parameter_find
from core.throttling import ThrottledTokenAuthentication
from sales.models import SALE_UNITS_DIGITS, UNITS_DECIMALS, Item, Store
from sales.selectors import codes_resolve_each
from streaming import selectors, services
from streaming.hub import (
    CAUSE_BROKER,
    CAUSE_DATABASE,
    HEARTBEAT,
    REPLAY_PAGE,
    ErrorEntry,
    EventFrames,
    HeartbeatEntry,
    SalesEntry,
    StreamClient,
    db,
    error_frame,
    sse_frame,
    stream_hub,
)
from streaming.models import SalesEvent

logger = logging.getLogger(__name__)

MAX_INGEST_ROWS = 10_000
# Per row and per (store, item) of one request, either way (sales or returns): far above any real day,
# far below the column's range.
MAX_INGEST_QUANTITY = 1_000_000
FUTURE_TOLERANCE = timedelta(minutes=5)
RELOAD_REASON = "more was missed than a stream replays (STREAMING_REPLAY_MAX_EVENTS, STREAMING_REPLAY_MAX_HOURS): reload the figures"


def _last_event_id(request: HttpRequest) -> int | None:
    # The header (what EventSource sends on reconnect) wins over the query parameter.
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise ParameterError("last_event_id", f"last_event_id must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ParameterError("last_event_id", "last_event_id must not be negative")
    return value


def _stream_owner(request: HttpRequest) -> str:
    """Who the per-client cap counts: the signed-in user, or the address of an anonymous one
    (REMOTE_ADDR: the address core.addresses resolved, from TRUSTED_PROXIES only)."""
    reader = getattr(request, "reader", None)
    if reader is not None and reader.is_authenticated:
        return f"user:{reader.pk}"
    return f"address:{request.META.get('REMOTE_ADDR', '')}"


async def stream(request: HttpRequest):
    """GET /api/stream: `sales` and `metrics` events, each with `id:`, and a
    heartbeat comment; resumes after Last-Event-ID (header or ?last_event_id=)."""
    if request.method != "GET":
        return error_response("only GET is allowed", parameter="method", status=405)
    if denied := await read_access_check_async(request):
        return denied
    if name := empty_parameter_find(request.GET):
        return error_response("must not be empty: give a value or leave the parameter out.", parameter=name)
    try:
        client = StreamClient(
            stores=code_list_param(request.GET, "store"),
            items=code_list_param(request.GET, "item"),
            owner=_stream_owner(request),
        )
        last_id = _last_event_id(request)
    except ParameterError as error:
        return error_response(str(error), parameter=error.parameter)
    if refusal := stream_hub().stream_admit(client):
        busy = error_response(refusal, status=429)
        busy["Retry-After"] = str(max(1, settings.STREAMING_RETRY_MS // 1000))
        return busy
    response = StreamingHttpResponse(_event_stream(client=client, last_id=last_id), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _event_stream(*, client: StreamClient, last_id: int | None):
    hub = stream_hub()
    async with hub.stream_open(client):
        yield f"retry: {settings.STREAMING_RETRY_MS}\n\n".encode()
        # Subscribe first, then read the log: an event committed in between is both replayed and
        # queued, and the id check below drops the second copy. No gap, no duplicate.
        failure = None
        try:
            await hub.register(client)
        # The client reads what failed, never how (host names, exception text): the log has that.
        except DatabaseError as error:
            logger.warning("stream_register_failed cause=database error=%r", f"{type(error).__name__}: {error}")
            failure = error_frame(message="database unavailable; retrying", cause=CAUSE_DATABASE)
        except Exception as error:  # Redis unreachable: still replay, then tell the client to retry
            logger.warning("stream_register_failed cause=broker error=%r", f"{type(error).__name__}: {error}")
            failure = error_frame(message="message broker unreachable; retrying", cause=CAUSE_BROKER)
        try:
            latest = await db(selectors.event_latest_id)()
            # An id from before the log was reset (or from another deployment) would hide every
            # new event behind the dedupe check: start such a client from now.
            sent = latest if last_id is None or last_id > latest else last_id
            if sent < latest and not await db(selectors.replay_bounded)(after_id=sent):
                # Too much missed to replay: the client reloads its figures, and the stream goes on from now.
                yield sse_frame(
                    event="reload", data={"reason": RELOAD_REASON, "last_event_id": latest}, event_id=latest
                )
                sent = latest
            while sent < latest:
                page = await db(selectors.events_after)(after_id=sent, limit=REPLAY_PAGE)
                for payload in page:
                    if frame := client.sales_frame(EventFrames(payload)):
                        yield frame
                    sent = payload["id"]
                if len(page) < REPLAY_PAGE:
                    break
            if failure:
                # The missed batches, then why: no `metrics`, which the page takes as "live".
                yield failure
                return
            metrics = await db(selectors.stream_metrics)(stores=client.stores, items=client.items, last_event_id=sent)
        except DatabaseError as error:
            logger.warning("stream replay failed", extra={"error": f"{type(error).__name__}: {error}"})
            yield error_frame(message="database unavailable; retrying", cause=CAUSE_DATABASE)
            return
        yield sse_frame(event="metrics", data=metrics, event_id=sent)
        while True:
            match await client.queue.get():
                case HeartbeatEntry():
                    yield HEARTBEAT
                case SalesEntry(frames=frames) if frames.id <= sent:
                    continue  # replayed already
                case SalesEntry(frames=frames, metrics_frame=metrics_frame):
                    frame = (client.sales_frame(frames) or b"") + (metrics_frame or b"")
                    sent = frames.id
                    if frame:
                        yield frame
                case ErrorEntry(message=message, cause=cause):
                    yield error_frame(message=message, cause=cause)
                    return


async def stream_status(request: HttpRequest) -> JsonResponse:
    """GET /api/stream/status: this process's open streams and hub state (for
    operators and the tests that check disconnects are cleaned up)."""
    if refusal := await read_access_check_async(request):
        return refusal
    return JsonResponse(stream_hub().status())


# ---------------------------------------------------------------- ingest


class IngestRowSerializer(serializers.Serializer):
    # Codes; a JSON number (`"store": 1`, as before codes) reads as its text.
    store = serializers.CharField(max_length=MAX_CODE_LENGTH, help_text="the store's code (a number reads as its text)")
    item = serializers.CharField(max_length=MAX_CODE_LENGTH, help_text="the item's code (a number reads as its text)")
    quantity = serializers.DecimalField(
        max_digits=SALE_UNITS_DIGITS,
        decimal_places=UNITS_DECIMALS,
        min_value=-MAX_INGEST_QUANTITY,
        max_value=MAX_INGEST_QUANTITY,
        coerce_to_string=False,
        help_text="units sold: a whole number, or up to 3 decimals (kilograms, litres, dollars); negative for "
        "returns. A JSON number (or its text).",
    )


class IngestSerializer(serializers.Serializer):
    # many=True hands max_length to the ListSerializer; the stubs type the child's arguments only.
    rows = IngestRowSerializer(many=True, allow_empty=False, max_length=MAX_INGEST_ROWS)  # type: ignore[call-arg]
    timestamp = serializers.DateTimeField(
        required=False,
        # The bounds move with the clock, so OpenAPI cannot hold them as constants: the description states them
        # from the same values validate_timestamp enforces.
        help_text="When the sales happened (default: now): within the last STREAMING_EVENT_RETENTION_DAYS days "
        f"({settings.STREAMING_EVENT_RETENTION_DAYS}) and at most {FUTURE_TOLERANCE.total_seconds() / 60:.0f} "
        "minutes ahead, else a 400 naming timestamp; older sales go through manage.py load_train --append.",
    )

    def validate_timestamp(self, value):
        now = timezone.now()
        if value > now + FUTURE_TOLERANCE:
            raise serializers.ValidationError("must not be in the future")
        # Live sales are recent; older ones would land in the history with no event to replay
        # (the log keeps STREAMING_EVENT_RETENTION_DAYS). Back-fills go through load_train --append.
        retention = settings.STREAMING_EVENT_RETENTION_DAYS
        if value < now - timedelta(days=retention):
            raise serializers.ValidationError(
                f"must be within the last {retention} days (load older sales with manage.py load_train --append)"
            )
        return value

    def validate(self, attrs):
        """Every code names a store (item): its id is added to the row as store_id (item_id)."""
        store_ids = codes_resolve_each(model=Store, codes={row["store"] for row in attrs["rows"]})
        item_ids = codes_resolve_each(model=Item, codes={row["item"] for row in attrs["rows"]})
        per_key: dict[tuple[str, str], Decimal] = {}
        for index, row in enumerate(attrs["rows"]):
            if row["store"] not in store_ids:
                raise serializers.ValidationError({f"rows[{index}].store": f"unknown store {row['store']!r}"})
            if row["item"] not in item_ids:
                raise serializers.ValidationError({f"rows[{index}].item": f"unknown item {row['item']!r}"})
            row["store_id"], row["item_id"] = store_ids[row["store"]], item_ids[row["item"]]
            key = (row["store"], row["item"])
            per_key[key] = per_key.get(key, Decimal(0)) + row["quantity"]
            if abs(per_key[key]) > MAX_INGEST_QUANTITY:
                raise serializers.ValidationError(
                    {
                        f"rows[{index}].quantity": f"store {key[0]} item {key[1]} adds up to more than "
                        f"{MAX_INGEST_QUANTITY:,} units (or returns) in one request"
                    }
                )
        return attrs


class SafeJSONParser(JSONParser):
    """JSONParser that answers a pathologically nested body with a 400: Python's json raises
    RecursionError there, which DRF does not catch (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None


class SalesEventRowSerializer(serializers.Serializer):
    store = serializers.CharField(help_text="store code")
    item = serializers.CharField(help_text="item code")
    quantity = UnitsField()


class SalesEventSerializer(serializers.Serializer):
    """The ingest answer: the whole batch (documentation only). The stream's `sales` event is its
    summary (streaming.selectors.sales_event_summary), with `rows` only for a filtered stream."""

    id = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    date = serializers.DateField()
    # A field named like Field.source, which the stubs type as the attribute.
    source = serializers.ChoiceField(choices=["generator", "ingest"])  # type: ignore[assignment]
    kind = serializers.ChoiceField(choices=SalesEvent.Kind.choices)
    rows = SalesEventRowSerializer(many=True)
    total = UnitsField()


class IngestView(APIView):
    """POST /api/sales/ingest: sales reported from outside, through the same write
    path as the generator. Token auth only (no session, so no CSRF dance), for users in the
    ingest group."""

    authentication_classes = [ThrottledTokenAuthentication]  # failed tokens throttled per client
    permission_classes = [IngestAccess]
    parser_classes = [SafeJSONParser]

    @extend_schema(
        request=IngestSerializer,
        responses={
            201: SalesEventSerializer,
            400: OpenApiTypes.OBJECT,
            401: OpenApiTypes.OBJECT,
            403: OpenApiTypes.OBJECT,
            413: OpenApiTypes.OBJECT,
            429: OpenApiTypes.OBJECT,
        },
    )
    def post(self, request):
        body_size_check(request, limit=settings.INGEST_MAX_BODY_BYTES, setting="INGEST_MAX_BODY_BYTES")
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"body": "body must be a JSON object with rows"})
        serializer = IngestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            event = services.sales_ingest(
                rows=[(r["store_id"], r["item_id"], r["quantity"]) for r in data["rows"]],
                timestamp=data.get("timestamp"),
            )
        except DataError:
            # A day's units past the column's range: the transaction rolled back, nothing was added.
            raise serializers.ValidationError(
                {"rows": "these sales would take a day's total past what the history can hold"}
            ) from None
        return Response(event.payload(), status=status.HTTP_201_CREATED)
