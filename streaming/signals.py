"""What the live stream announces to the apps above it (they connect receivers in their AppConfig.ready).

`batch_recorded(sender=SalesEvent, event_id=int)`: sent once for every batch appended to the event log,
generated or ingested, after the transaction that recorded it has committed (a receiver that reads the
event finds it). Receivers must be quick and must not raise: they run in the writer's request or task.
"""

from __future__ import annotations

from django.dispatch import Signal

batch_recorded = Signal()
