"""What the sales app announces to the apps built on it. They connect receivers in their
AppConfig.ready; sales names none of them, nor their tasks."""

from __future__ import annotations

from django.dispatch import Signal

# Sent (with send_robust, sender LoadSummary) once a load that asked for follow-ups
# (`sales_load_csv(followups=True)`) has committed, so that what the apps built on sales derive from
# the history (the live generator's profiles, the forecasts) is refreshed. Keyword arguments:
# `appended` (the file was added to the history rather than replacing it). The load has committed
# whatever a receiver does: one that raises is logged by Django, and the others still run.
history_loaded = Signal()
