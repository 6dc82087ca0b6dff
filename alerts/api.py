"""The alerts API under /api/alerts/: rules, contact points, silences, states, history and notifications.
Viewers read, editors and staff write (core.access.EditAccess). Contact points' secrets are write-only."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response

from alerts import delivery, preview, selectors, services
from alerts.models import NODE_LEVELS, ContactPoint, Level, Notification, Rule, Silence, StateChange
from core.access import EditAccess, user_can_read
from core.api import ERROR_RESPONSE
from core.params import CODE_PATTERN, CODE_SCHEMA, MAX_CODE_LENGTH
from sales.models import Category, Department, Item, Region, Store


class AlertsPagination(PageNumberPagination):
    """Pages of 100 (`page_size` up to 500). A `page` or `page_size` that is not a whole number in range is
    a 400 naming it, not silently the default."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        for name, most in (("page", None), ("page_size", self.max_page_size)):
            raw = request.query_params.get(name)
            if raw is None:
                continue
            if not raw.isdigit() or int(raw) < 1 or (most is not None and int(raw) > most):
                limit = f" and at most {most}" if most else ""
                raise serializers.ValidationError({name: f"a whole number from 1{limit}"})
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {"type": "integer", "minimum": 1}
            if parameter["name"] == "page_size":
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters


ID_PARAMETER = OpenApiParameter("id", {"type": "integer", "minimum": 1, "maximum": 999_999_999}, OpenApiParameter.PATH)


def documented(serializer, *, tag: str = "alerts"):
    """The schema of an alerts viewset: its ids as the routes take them, and the JSON errors each action answers
    (a page past the end is a 404, bad input a 400, a reader's write a 403)."""
    errors = {400: ERROR_RESPONSE, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE}
    detail: dict[str, Any] = {"parameters": [ID_PARAMETER], "tags": [tag]}
    schemas = dict(
        list=extend_schema(
            tags=[tag], responses={200: serializer(many=True), 400: ERROR_RESPONSE, 404: ERROR_RESPONSE}
        ),
        retrieve=extend_schema(**detail, responses={200: serializer, 404: ERROR_RESPONSE}),
        create=extend_schema(tags=[tag], responses={201: serializer, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE}),
        update=extend_schema(**detail, responses={200: serializer, **errors}),
        partial_update=extend_schema(**detail, responses={200: serializer, **errors}),
        destroy=extend_schema(
            **detail, responses={200: serializer, 204: None, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE}
        ),
    )

    def decorate(viewset):
        # Only the actions the viewset has (drf-spectacular warns of the others).
        return extend_schema_view(**{name: schema for name, schema in schemas.items() if hasattr(viewset, name)})(
            viewset
        )

    return decorate


class AlertsViewSetMixin:
    pagination_class: type[BasePagination] | None = AlertsPagination
    permission_classes: Sequence[Any] = [EditAccess]
    lookup_value_regex = "[0-9]{1,9}"


# ---------------------------------------------------------------- rules


PREVIEW_RESPONSE = inline_serializer(
    "RulePreview",
    fields={
        "days": serializers.IntegerField(),
        "per_series": serializers.BooleanField(),
        "curve": serializers.CharField(),
        "points": serializers.ListField(child=serializers.DictField()),
        "fired": serializers.IntegerField(),
        "notes": serializers.ListField(child=serializers.CharField()),
    },
)


class ReaderPost(EditAccess):
    """A preview writes nothing: anyone who reads may ask for one."""

    def has_permission(self, request, view) -> bool:
        return user_can_read(user=request.user)


@extend_schema_field({**CODE_SCHEMA, "nullable": True})
class CodeRelatedField(serializers.SlugRelatedField):
    """A row named by its code: a code's shape (core.params.CODE_PATTERN, at most MAX_CODE_LENGTH) is checked
    before it is looked up, so that a control character or a NUL is a 400 naming the field, not a database error."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > MAX_CODE_LENGTH or not re.fullmatch(CODE_PATTERN, data):
            self.fail("invalid")
        return super().to_internal_value(data)


def code_field(model, *, what: str) -> serializers.SlugRelatedField:
    """A store, item or node of the hierarchy named by its code, as everywhere in the product (stored by its
    internal id)."""
    return CodeRelatedField(
        slug_field="code",
        queryset=model.objects.all(),
        allow_null=True,
        required=False,
        help_text=f"the {what}'s code (null: every {what} of the level, or none)",
    )


class RuleSerializer(serializers.ModelSerializer):
    store = code_field(Store, what="store")
    item = code_field(Item, what="item")
    region = code_field(Region, what="region")
    category = code_field(Category, what="category")
    department = code_field(Department, what="department")
    contact_points = serializers.PrimaryKeyRelatedField(many=True, queryset=ContactPoint.objects.all(), required=False)
    per_series = serializers.BooleanField(read_only=True)

    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "enabled",
            "level",
            "store",
            "item",
            "region",
            "category",
            "department",
            "per_series",
            "condition",
            "direction",
            "interval",
            "percent",
            "threshold",
            "no_data_intervals",
            "pending_seconds",
            "active_from",
            "active_to",
            "repeat_seconds",
            "notify_resolved",
            "contact_points",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs: dict) -> dict:
        merged = {**self._current(), **attrs}
        level, store, item = merged.get("level", Level.TOTAL), merged.get("store"), merged.get("item")
        if level == Level.TOTAL and (store or item):
            raise serializers.ValidationError({"level": "a total rule takes neither store nor item"})
        if level == Level.STORE and item:
            raise serializers.ValidationError({"item": "a store rule takes no item (use level store_item)"})
        if level == Level.ITEM and store:
            raise serializers.ValidationError({"store": "an item rule takes no store (use level store_item)"})
        for node_level, name in NODE_LEVELS.items():
            if merged.get(name) and level != node_level:
                raise serializers.ValidationError({name: f"only a {node_level} rule takes a {name}"})
        if level in NODE_LEVELS and (store or item):
            raise serializers.ValidationError({"level": f"a {level} rule takes neither store nor item"})
        condition = merged.get("condition")
        required: dict[str, str] = {
            Rule.Condition.FORECAST_PERCENT: "percent",
            Rule.Condition.THRESHOLD: "threshold",
            Rule.Condition.NO_DATA: "no_data_intervals",
        }
        needs = required.get(condition or "")
        if needs and merged.get(needs) is None:
            raise serializers.ValidationError({needs: f"required for a {condition} rule"})
        if condition == Rule.Condition.FORECAST_INTERVAL and merged.get("interval", 80) not in (80, 95):
            raise serializers.ValidationError({"interval": "80 or 95"})
        if condition == Rule.Condition.FORECAST_PERCENT and not 0 < merged["percent"] <= 1000:
            raise serializers.ValidationError({"percent": "between 0 and 1,000"})
        if condition == Rule.Condition.NO_DATA and merged["no_data_intervals"] < 1:
            raise serializers.ValidationError({"no_data_intervals": "at least 1"})
        if (merged.get("active_from") is None) != (merged.get("active_to") is None):
            raise serializers.ValidationError({"active_to": "give both active_from and active_to, or neither"})
        return attrs

    def _current(self) -> dict:
        rule = self.instance
        if rule is None:
            return {}
        names = [
            f for f in self.Meta.fields if f not in ("id", "per_series", "contact_points", "created_at", "updated_at")
        ]
        return {name: getattr(rule, name) for name in names}


@documented(RuleSerializer)
class RuleViewSet(AlertsViewSetMixin, viewsets.ModelViewSet):
    """Alert rules: what to watch, when it fires, whom to tell."""

    serializer_class = RuleSerializer
    queryset = Rule.objects.select_related("store", "item", "region", "category", "department").prefetch_related(
        "contact_points"
    )

    def perform_create(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        points = fields.pop("contact_points", [])
        serializer.instance = services.rule_save(fields=fields, contact_points=points, user=self.request.user)

    def perform_update(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        points = fields.pop("contact_points", None)
        serializer.instance = services.rule_save(rule=serializer.instance, fields=fields, contact_points=points)

    @extend_schema(request=RuleSerializer, responses={200: PREVIEW_RESPONSE, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE})
    @action(detail=False, methods=["post"], permission_classes=[ReaderPost])
    def preview(self, request) -> Response:
        """Where this rule (not saved) would have fired over the last 30 days (see alerts.preview)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = {k: v for k, v in serializer.validated_data.items() if k != "contact_points"}
        now = timezone.now()
        rule = Rule(**fields, created_at=now - timedelta(days=31), updated_at=now)
        return Response(asdict(preview.rule_preview(rule=rule)))


# ---------------------------------------------------------------- contact points


class ContactPointSerializer(serializers.ModelSerializer):
    addresses = serializers.ListField(child=serializers.EmailField(), required=False, max_length=50)
    url = serializers.CharField(write_only=True, required=False, max_length=2000, help_text="never shown back")
    signing_key = serializers.CharField(write_only=True, required=False, max_length=500, help_text="never shown back")
    has_url = serializers.SerializerMethodField()
    has_signing_key = serializers.SerializerMethodField()
    failing = serializers.BooleanField(read_only=True)

    class Meta:
        model = ContactPoint
        fields = [
            "id",
            "name",
            "kind",
            "addresses",
            "url",
            "signing_key",
            "has_url",
            "has_signing_key",
            "failures",
            "failing",
            "last_error",
            "last_success_at",
            "last_failure_at",
            "created_at",
        ]
        read_only_fields = ["failures", "last_error", "last_success_at", "last_failure_at", "created_at"]

    def get_has_url(self, point: ContactPoint) -> bool:
        return bool(point.url_sealed)

    def get_has_signing_key(self, point: ContactPoint) -> bool:
        return bool(point.signing_key_sealed)

    def validate(self, attrs: dict) -> dict:
        kind = attrs.get("kind") or (self.instance.kind if self.instance else None)
        if kind == ContactPoint.Kind.EMAIL and not (
            attrs.get("addresses") or (self.instance and self.instance.addresses)
        ):
            raise serializers.ValidationError({"addresses": "an email contact point needs at least one address"})
        if kind != ContactPoint.Kind.EMAIL:
            url = attrs.get("url")
            if url is None and not (self.instance and self.instance.url_sealed):
                raise serializers.ValidationError({"url": f"a {kind} contact point needs a URL"})
            if url is not None:
                try:
                    delivery.webhook_url_check(url)
                except delivery.DeliveryRefused as refused:
                    raise serializers.ValidationError({"url": str(refused)}) from None
        return attrs


@documented(ContactPointSerializer)
class ContactPointViewSet(AlertsViewSetMixin, viewsets.ModelViewSet):
    """Where notifications go. `url` and `signing_key` are stored encrypted and never returned."""

    serializer_class = ContactPointSerializer
    queryset = ContactPoint.objects.all()

    def perform_create(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        url, key = fields.pop("url", None), fields.pop("signing_key", None)
        serializer.instance = services.contact_point_save(fields=fields, url=url, signing_key=key)

    def perform_update(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        url, key = fields.pop("url", None), fields.pop("signing_key", None)
        serializer.instance = services.contact_point_save(
            point=serializer.instance, fields=fields, url=url, signing_key=key
        )

    @extend_schema(
        request=None,
        parameters=[ID_PARAMETER],
        responses={
            403: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
            200: inline_serializer(
                "TestNotification",
                fields={
                    "status": serializers.CharField(),
                    "retry_in": serializers.FloatField(allow_null=True),
                    "error": serializers.CharField(),
                },
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None) -> Response:
        """Send a test notification now; answers with the attempt's outcome."""
        point = self.get_object()
        outcome = services.contact_point_test(point=point)
        point.refresh_from_db()
        error = "" if outcome.status == Notification.Status.SENT else point.last_error
        return Response({"status": outcome.status, "retry_in": outcome.retry_in, "error": error})


# ---------------------------------------------------------------- silences


class SilenceSerializer(serializers.ModelSerializer):
    store = code_field(Store, what="store")
    item = code_field(Item, what="item")
    active = serializers.SerializerMethodField()

    class Meta:
        model = Silence
        fields = ["id", "rule", "store", "item", "starts_at", "ends_at", "comment", "active"]
        extra_kwargs = {"starts_at": {"required": False}}

    def get_active(self, silence: Silence) -> bool:
        now = timezone.now()
        return silence.starts_at <= now < silence.ends_at

    def validate(self, attrs: dict) -> dict:
        starts = attrs.get("starts_at") or timezone.now()
        if attrs["ends_at"] <= starts:
            raise serializers.ValidationError({"ends_at": "must be after starts_at (default: now)"})
        return attrs


@documented(SilenceSerializer)
class SilenceViewSet(
    AlertsViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Silences: mute a rule, a scope (store and/or item) or everything until a time. DELETE ends one now
    (it stays in the list, ended)."""

    serializer_class = SilenceSerializer
    queryset = Silence.objects.select_related("store", "item")

    def perform_create(self, serializer) -> None:
        serializer.instance = services.silence_create(fields=dict(serializer.validated_data), user=self.request.user)

    def destroy(self, request, *args, **kwargs) -> Response:
        silence = services.silence_end(silence=self.get_object())
        return Response(self.get_serializer(silence).data, status=status.HTTP_200_OK)


# ---------------------------------------------------------------- states and history


class StateChangeSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    store = serializers.CharField(source="store_code", allow_null=True, help_text="the store's code")
    item = serializers.CharField(source="item_code", allow_null=True, help_text="the item's code")
    node = serializers.CharField(
        source="node_code",
        allow_null=True,
        help_text="the region's, category's or department's code (the rule's level)",
    )
    silenced_by: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = StateChange
        fields = [
            "id",
            "rule",
            "rule_name",
            "store",
            "item",
            "node",
            "seq",
            "at",
            "from_state",
            "to_state",
            "actual",
            "expected",
            "lower",
            "upper",
            "pace",
            "curve",
            "message",
            "silenced_by",
            "event_id",
        ]


class AlertStateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.IntegerField(source="rule_id")
    rule_name = serializers.CharField(source="rule.name")
    store = serializers.CharField(source="store_code", allow_null=True, help_text="the store's code")
    item = serializers.CharField(source="item_code", allow_null=True, help_text="the item's code")
    node = serializers.CharField(
        source="node_code",
        allow_null=True,
        help_text="the region's, category's or department's code (the rule's level)",
    )
    state = serializers.CharField()
    since = serializers.DateTimeField()
    last_change = serializers.SerializerMethodField()
    silenced_by = serializers.SerializerMethodField()

    @extend_schema_field(StateChangeSerializer(allow_null=True))
    def get_last_change(self, state) -> dict | None:
        change = state.last_change
        if change is None:
            return None
        # The same series as its state row: the codes the row's query resolved.
        change.store_code, change.item_code, change.node_code = state.store_code, state.item_code, state.node_code
        return StateChangeSerializer(change, context=self.context).data

    def get_silenced_by(self, state) -> int | None:
        # DRF hands every serializer of a request one context dict (the stubs type it as a Mapping).
        silences = self.context.setdefault("silences", selectors.silences_active(now=timezone.now()))  # type: ignore[attr-defined]
        silence = selectors.silence_of(
            silences=silences, rule_id=state.rule_id, store=state.store_id, item=state.item_id
        )
        return silence.pk if silence else None


@documented(AlertStateSerializer)
class AlertStateViewSet(AlertsViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Current state of each series that has left Normal at least once. `?firing=true`: only
    Alerting, NoData and Error; `?rule=<id>`: one rule's."""

    serializer_class = AlertStateSerializer

    def get_queryset(self):
        firing = self.request.query_params.get("firing", "").lower() in ("1", "true", "yes")
        states = selectors.state_list(firing=firing)
        rule = self.request.query_params.get("rule")
        if rule:
            if not rule.isdigit():
                raise serializers.ValidationError({"rule": "a rule id"})
            states = states.filter(rule_id=int(rule))
        return states


@documented(StateChangeSerializer)
class HistoryViewSet(AlertsViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Every state change, newest first, with its figures. `?rule=<id>` for one rule."""

    serializer_class = StateChangeSerializer

    def get_queryset(self):
        changes = selectors.change_list()
        rule = self.request.query_params.get("rule")
        if rule:
            if not rule.isdigit():
                raise serializers.ValidationError({"rule": "a rule id"})
            changes = changes.filter(rule_id=int(rule))
        return changes


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = [
            "id",
            "idempotency_key",
            "rule",
            "contact_point",
            "kind",
            "status",
            "attempts",
            "subject",
            "changes",
            "created_at",
            "sent_at",
            "next_attempt_at",
        ]


@documented(NotificationSerializer)
class NotificationViewSet(AlertsViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Every notification (the outbox) with its delivery status."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.all()
