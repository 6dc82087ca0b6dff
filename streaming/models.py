"""The live stream's state: a statistical profile per store-item that the
generator draws from, and the event log every published batch is kept in.

Writers: `streaming.services` only.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from core.numbers import number_plain


class SalesProfile(models.Model):
    """Daily sales model of one store-item, fitted from the history:

        expected(day) = level x weekday_factors[weekday] x month_factors[month - 1]
                        x trend ** (years from reference_date, capped)
        variance(day) = dispersion x expected(day)

    `level` is the mean daily sales of the last 365 days of history (centred on
    `reference_date`), `trend` the ratio of that year to the year before, the
    factors average 1, and `dispersion` (>= 1) the variance-to-mean ratio of the
    residuals (1 = Poisson)."""

    store = models.ForeignKey("sales.Store", on_delete=models.CASCADE, db_index=False)
    item = models.ForeignKey("sales.Item", on_delete=models.CASCADE, db_index=False)
    level = models.FloatField()
    trend = models.FloatField()
    dispersion = models.FloatField()
    weekday_factors = models.JSONField(help_text="7 multipliers, Monday first")
    month_factors = models.JSONField(help_text="12 multipliers, January first")
    reference_date = models.DateField()
    history_end = models.DateField()
    fitted_at = models.DateTimeField()

    class Meta:
        ordering = ["store", "item"]
        constraints = [models.UniqueConstraint(fields=["store", "item"], name="salesprofile_store_item_uniq")]

    def __str__(self) -> str:
        return f"profile store {self.store_id} item {self.item_id}: {self.level:.1f}/day"


class SalesEvent(models.Model):
    """One batch of sales as published on the stream. The id is the SSE event id:
    ids are handed out and committed in order (see services.sales_event_record),
    so a client that saw id N has seen every batch up to N."""

    class Source(models.TextChoices):
        GENERATOR = "generator"
        INGEST = "ingest"

    class Kind(models.TextChoices):
        """What a reader should call the batch: generated live, generated to catch up missed
        intervals, or reported from outside."""

        GENERATED = "generated"
        CATCH_UP = "catch-up"
        INGESTED = "ingested"

    id = models.BigAutoField(primary_key=True)
    timestamp = models.DateTimeField()
    date = models.DateField(help_text="the day (in TIME_ZONE) the units were added to")
    source = models.CharField(max_length=16, choices=Source.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.GENERATED)
    # Only generated batches have one; it makes the tick idempotent per interval.
    interval_start = models.DateTimeField(null=True, blank=True)
    # [[store code, item code, quantity], ...]: compact, the API expands it. Events logged before codes
    # existed hold the store's and item's ids, which were their codes (payload and summary say str(id)).
    # A quantity is a JSON number: whole, or with up to three decimals (ingested kilograms), negative
    # for returns.
    rows = models.JSONField()
    total = models.DecimalField(max_digits=18, decimal_places=3)
    # What every stream and the page's feed show of the batch (see `breakdown`), kept at write: a
    # catch-up batch holds a row per series (tens of thousands: megabytes of JSON) to read and sum on
    # every page view.
    # Null for events logged before it existed: `summary` derives it from `rows` then.
    row_breakdown = models.JSONField(null=True, blank=True, help_text="row_count and units per store and per item")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interval_start"],
                condition=models.Q(source="generator"),
                name="salesevent_generator_interval_uniq",
            ),
        ]
        indexes = [models.Index(fields=["source", "-timestamp"], name="salesevent_source_ts_idx")]

    def __str__(self) -> str:
        return f"event {self.id} {self.source} {self.timestamp:%Y-%m-%d %H:%M:%S}: {self.total}"

    @staticmethod
    def breakdown(rows: list[list]) -> dict:
        """A batch's size and its units per store and per item (`[[code, units], ...]`, by code, only
        those with units) from its compact `rows`: its size grows with the stores and items a batch
        touches, not with their product (for a whole day of tens of thousands of series, tens of KB
        instead of megabytes)."""
        stores: dict[str, Decimal] = {}
        items: dict[str, Decimal] = {}
        for store, item, quantity in rows:
            # Added as decimals (a float 0.1 + 0.2 is not 0.3), from the number's shortest text.
            units = Decimal(str(quantity))
            stores[str(store)] = stores.get(str(store), Decimal(0)) + units
            items[str(item)] = items.get(str(item), Decimal(0)) + units
        return {
            "row_count": len(rows),
            "stores": [[store, number_plain(units)] for store, units in sorted(stores.items()) if units],
            "items": [[item, number_plain(units)] for item, units in sorted(items.items()) if units],
        }

    def _batch_fields(self) -> dict:
        """What the payload and the summary share: the batch without its rows."""
        return {
            "id": self.id,
            "timestamp": self.timestamp.isoformat(),
            "date": self.date.isoformat(),
            "source": self.source,
            "kind": self.kind,
            # A plain number: the payload is published through the channel layer (msgpack) and sent as JSON.
            "total": number_plain(self.total),
        }

    def summary(self) -> dict:
        """The `sales` event as every unfiltered stream gets it: the payload without its rows, with
        their breakdown. Reads `rows` only for an event logged before `row_breakdown` existed."""
        return self._batch_fields() | (self.row_breakdown or self.breakdown(self.rows))

    def payload(self) -> dict:
        """The whole batch, rows included: the ingest answer, and what is published to the stream
        processes (each stream gets a summary of it, see streaming.selectors.sales_event_summary)."""
        rows = [{"store": str(s), "item": str(i), "quantity": q} for s, i, q in self.rows]
        return self._batch_fields() | {"rows": rows}
