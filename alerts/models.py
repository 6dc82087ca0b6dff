"""Alert rules, their state per series, the history of every state change, the notifications sent
for them (an outbox), contact points, silences and stores' opening hours.

Writers: `alerts.services` only. Once per state change: a change is unique on (rule, series, seq) and
a notification on its idempotency key, both written in the evaluation's transaction, and a notification
is delivered by whichever worker locks its row first (see services.notification_deliver).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models


class Level(models.TextChoices):
    TOTAL = "total"
    STORE = "store"
    ITEM = "item"
    STORE_ITEM = "store_item"
    # Nodes of the hierarchy: a region groups stores; a department items; a category departments.
    REGION = "region"
    CATEGORY = "category"
    DEPARTMENT = "department"


# A node level's children (whose forecasts and sales add up to the node's) and the rule field naming the node.
NODE_LEVELS: dict[str, str] = {
    Level.REGION.value: "region",
    Level.CATEGORY.value: "category",
    Level.DEPARTMENT.value: "department",
}


class State(models.TextChoices):
    NORMAL = "Normal"
    PENDING = "Pending"
    ALERTING = "Alerting"
    NO_DATA = "NoData"
    ERROR = "Error"


class StoreHours(models.Model):
    """When a store is open (TIME_ZONE), for the opening-hours pace and for no-data rules; stores
    without a row use ALERTS_OPENING_HOURS. `closes` 00:00 means midnight at the end of the day."""

    store = models.OneToOneField("sales.Store", on_delete=models.CASCADE, primary_key=True)
    opens = models.TimeField()
    closes = models.TimeField()

    def __str__(self) -> str:
        return f"store {self.store_id}: {self.opens:%H:%M}-{self.closes:%H:%M}"


class ContactPoint(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"
        SLACK = "slack"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Email: the recipients (not secret). Webhook/Slack: the URL and the signing key, Fernet-encrypted
    # (alerts.delivery.secret_seal): the API and the admin never show them back.
    addresses = models.JSONField(default=list, blank=True)
    url_sealed = models.TextField(blank=True)
    signing_key_sealed = models.TextField(blank=True)
    # Delivery health: consecutive failed attempts (reset by a success).
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def failing(self) -> bool:
        return self.failures >= settings.ALERTS_FAILING_AFTER


class Rule(models.Model):
    """What to watch (level plus store/item; a level with its store or item left empty watches every
    store / item / store-item, one state per series), when it fires (condition) and how (timing)."""

    class Condition(models.TextChoices):
        FORECAST_INTERVAL = "forecast_interval", "outside the forecast's interval, paced"
        FORECAST_PERCENT = "forecast_percent", "a percentage off the paced forecast"
        NO_DATA = "no_data", "no data for N intervals within opening hours"
        THRESHOLD = "threshold", "a fixed threshold on today's sales so far"

    class Direction(models.TextChoices):
        BELOW = "below"
        ABOVE = "above"

    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.TOTAL)
    store = models.ForeignKey("sales.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey("sales.Item", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # The node of a hierarchy level (empty: every node of the level, one state per node).
    region = models.ForeignKey("sales.Region", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey("sales.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(
        "sales.Department", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    condition = models.CharField(max_length=20, choices=Condition.choices)
    direction = models.CharField(max_length=5, choices=Direction.choices, default=Direction.BELOW)
    interval = models.PositiveSmallIntegerField(default=80, help_text="80 or 95 (forecast_interval)")
    percent = models.FloatField(null=True, blank=True, help_text="e.g. 30 for 30 % under (forecast_percent)")
    threshold = models.FloatField(null=True, blank=True, help_text="units so far today (threshold)")
    no_data_intervals = models.PositiveIntegerField(null=True, blank=True, help_text="N stream intervals (no_data)")
    pending_seconds = models.PositiveIntegerField(default=0)
    active_from = models.TimeField(null=True, blank=True)
    active_to = models.TimeField(null=True, blank=True)
    repeat_seconds = models.PositiveIntegerField(default=0, help_text="0: notify once per state change")
    notify_resolved = models.BooleanField(default=True)
    contact_points = models.ManyToManyField(ContactPoint, blank=True, related_name="rules")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def node_id(self) -> int | None:
        """The id of the region, category or department a node-level rule watches (None: every one, or not a node level)."""
        field = NODE_LEVELS.get(str(self.level))
        return getattr(self, f"{field}_id") if field else None

    @property
    def per_series(self) -> bool:
        """Whether the rule watches every store / item / store-item / node of its level."""
        return (
            (self.level == Level.STORE and self.store_id is None)
            or (self.level == Level.ITEM and self.item_id is None)
            or (self.level == Level.STORE_ITEM and (self.store_id is None or self.item_id is None))
            or (self.level in NODE_LEVELS and self.node_id is None)
        )


class AlertState(models.Model):
    """The current state of one series under one rule. A series that has only ever been Normal has no
    row (a rule over every store-item would otherwise write some 30,000 rows on its first run)."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="states")
    store_id = models.PositiveIntegerField(null=True, blank=True)
    item_id = models.PositiveIntegerField(null=True, blank=True)
    # The region, category or department (by the rule's level) of a node-level series.
    node_id = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.NORMAL)
    since = models.DateTimeField()
    # When the condition started holding (Pending, and the firing states after it).
    pending_since = models.DateTimeField(null=True, blank=True)
    seq = models.PositiveIntegerField(default=0, help_text="how many changes this series has had")
    last_change = models.ForeignKey("StateChange", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "store_id", "item_id", "node_id"],
                name="alertstate_rule_series_uniq",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["state"], name="alertstate_state_idx")]

    def __str__(self) -> str:
        return f"{self.rule_id} store={self.store_id} item={self.item_id} node={self.node_id}: {self.state}"


class StateChange(models.Model):
    """One state change of one series, with the figures that caused it (units so far today, the
    paced expectation and bounds, the pace and the curve it came from)."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="changes")
    store_id = models.PositiveIntegerField(null=True, blank=True)
    item_id = models.PositiveIntegerField(null=True, blank=True)
    node_id = models.PositiveIntegerField(null=True, blank=True)
    seq = models.PositiveIntegerField()
    at = models.DateTimeField()
    from_state = models.CharField(max_length=10, choices=State.choices)
    to_state = models.CharField(max_length=10, choices=State.choices)
    actual = models.FloatField(null=True)
    expected = models.FloatField(null=True)
    lower = models.FloatField(null=True)
    upper = models.FloatField(null=True)
    pace = models.FloatField(null=True)
    curve = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    silenced_by = models.ForeignKey("Silence", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_id = models.BigIntegerField(null=True, blank=True, help_text="the batch evaluated, if any")
    # Not columns: the evaluation carries pending_since on the change to the series' state row; the codes
    # of the series are resolved by the reads (selectors.series_codes_annotate) and the evaluation.
    pending_since: datetime | None
    store_code: str | None
    item_code: str | None
    node_code: str | None

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "store_id", "item_id", "node_id", "seq"],
                name="statechange_once_uniq",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["rule", "-at"], name="statechange_rule_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} rule {self.rule_id}: {self.from_state} -> {self.to_state}"


class Notification(models.Model):
    """One message to one contact point about the state changes of one rule in one evaluation (the
    outbox). Its body is fixed when it is written, so every attempt sends the same bytes with the same
    idempotency key."""

    class Kind(models.TextChoices):
        FIRING = "firing"
        RESOLVED = "resolved"
        REPEAT = "repeat"
        TEST = "test"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"
        SUPPRESSED = "suppressed"

    idempotency_key = models.CharField(max_length=120, unique=True)
    # SET_NULL: deleting a rule keeps what was sent for it, and never races a delivery in flight.
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    contact_point = models.ForeignKey(ContactPoint, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    changes = models.JSONField(default=list, help_text="ids of the state changes it reports")
    subject = models.CharField(max_length=200)
    body = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_due_idx")]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.status})"


class DeliveryAttempt(models.Model):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    ok = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.FloatField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.notification_id} at {self.at:%H:%M:%S}: {'ok' if self.ok else self.error}"


class Silence(models.Model):
    """Mutes notifications (the state changes are still recorded) of a rule, a scope (store and/or
    item), or everything when all three are empty, from `starts_at` until `ends_at`."""

    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.CASCADE, related_name="silences")
    store = models.ForeignKey("sales.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey("sales.Item", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    comment = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-ends_at"]

    def __str__(self) -> str:
        return f"silence {self.pk} until {self.ends_at:%Y-%m-%d %H:%M}"
