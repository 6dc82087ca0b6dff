"""Forecast runs, the model of every series in a run, and its forecast points.

Readers only ever look at the latest COMPLETE run (see selectors): a run writes
its series while it is `running` and becomes visible in the one transaction
that reconciles it and marks it complete. The last `RUNS_KEPT` runs are kept.
"""

from __future__ import annotations

from django.db import models


class ForecastRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETE = "complete"
        FAILED = "failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Frequency(models.TextChoices):
        DAILY = "D"
        WEEKLY = "W"  # one observation a week, dated on the week's last day

    # The history's frequency, decided from its dates (selectors.history_step): one point a day or a week.
    frequency = models.CharField(max_length=1, choices=Frequency.choices, default=Frequency.DAILY)
    horizon_days = models.PositiveIntegerField()  # a whole number of the frequency's periods
    # Training range: the full history used for the forecast; the backtest fits on
    # training_start .. training_end - holdout_days and scores the last holdout_days.
    training_start = models.DateField()
    training_end = models.DateField()
    holdout_days = models.PositiveIntegerField(default=0)
    # Calendars (final and backtest), grids, scope, calibration factors per level.
    parameters = models.JSONField(default=dict)
    # Level -> accuracy figures averaged over the level's series (see accuracy.accuracy_compute).
    summary = models.JSONField(default=dict)
    series_count = models.PositiveIntegerField(default=0)
    fallback_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "-finished_at"], name="forecastrun_status_finished")]
        # Two refits at once (a load's refit meeting the nightly one) would race to publish;
        # the database lets only one run be "running" at a time.
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="running"), name="forecastrun_one_running"
            )
        ]

    def __str__(self) -> str:
        return f"forecast run {self.pk} ({self.status}, to {self.training_end})"

    @property
    def step_days(self) -> int:
        """Days per point: 1 (daily) or 7 (weekly)."""
        return 7 if self.frequency == self.Frequency.WEEKLY else 1


class Level(models.TextChoices):
    TOTAL = "total"
    STORE = "store"
    ITEM = "item"
    STORE_ITEM = "store_item"


class SeriesKind(models.TextChoices):
    COUNT = "count"
    CONTINUOUS = "continuous"
    SIGNED = "signed"


class SeriesForecast(models.Model):
    """One series of a run: its model, its backtest and its accuracy.

    `own` and `backtest` hold the series' own (unreconciled) forecast arrays;
    the finishing step reconciles them into ForecastPoint rows and `accuracy`."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="series")
    level = models.CharField(max_length=10, choices=Level.choices)
    # Plain ids, not foreign keys: a forecast outlives a reload that renumbers nothing
    # but may drop a store, and it must not block deleting one.
    store_id = models.PositiveIntegerField(null=True, blank=True)
    item_id = models.PositiveIntegerField(null=True, blank=True)
    # What its history's values are (counts.series_kind): "count" (all whole and >= 0: negative-binomial
    # forecasts, whole-number bounds), "continuous" (fractional: dollars, kilograms; normal forecasts) or
    # "signed" (went below zero: net returns; its bounds may too).
    kind = models.CharField(max_length=10, choices=SeriesKind.choices, default=SeriesKind.COUNT)
    order = models.JSONField(null=True, blank=True)  # [p, d, q] of the residual ARIMA; null for a fallback
    order_selected_on = models.DateField(null=True, blank=True)
    fallback = models.BooleanField(default=False)
    fallback_reason = models.TextField(blank=True)
    info = models.JSONField(default=dict)  # scale, AIC, parameters, fit seconds
    own = models.JSONField(default=dict)  # every candidate's count forecast (mean, overdispersion)
    backtest = models.JSONField(default=dict)  # actual and every candidate's forecast over the holdout
    accuracy = models.JSONField(default=dict)
    # The published model (its level's choice on the backtest: candidates.CANDIDATES) and why.
    model = models.CharField(max_length=20, blank=True)
    model_reason = models.TextField(blank=True)
    fitted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "level", "store_id", "item_id"],
                name="seriesforecast_run_key_uniq",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.level} store={self.store_id} item={self.item_id} (run {self.run_id})"


class ForecastPoint(models.Model):
    """One reconciled forecast day of one series: lower <= yhat <= upper, never negative unless `signed`.

    The database holds both: the bounds are ordered for every point, and only a point of a series whose
    history went below zero (net returns: `signed`, its series' kind "signed") may have a negative
    lower bound. Count and continuous series' points are >= 0."""

    series = models.ForeignKey(SeriesForecast, on_delete=models.CASCADE, related_name="points")
    date = models.DateField()
    yhat = models.FloatField()  # the median of the predictive distribution
    mean = models.FloatField(null=True)  # its mean: these add up across levels (bottom-up)
    lower_80 = models.FloatField()
    upper_80 = models.FloatField()
    lower_95 = models.FloatField()
    upper_95 = models.FloatField()
    signed = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["series", "date"], name="forecastpoint_series_date_uniq"),
            models.CheckConstraint(
                condition=models.Q(lower_95__lte=models.F("lower_80"), lower_80__lte=models.F("yhat"))
                & models.Q(yhat__lte=models.F("upper_80"), upper_80__lte=models.F("upper_95")),
                name="forecastpoint_intervals_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(signed=True) | models.Q(lower_95__gte=0),
                name="forecastpoint_non_negative_unless_signed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.yhat:.1f} [{self.lower_95:.1f}, {self.upper_95:.1f}]"
