"""Writes of the live stream: profile fitting, the generator tick, ingest and
publishing.

Every batch, generated or ingested, goes through `sales_event_record`: the
units are added to the history with `sales.services.sales_record_batch` and the
batch is appended to the event log in the same transaction, and only after the
commit is it published on the channel layer. A publish that fails costs
nothing but latency: streams catch up from the event log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from core.numbers import number_plain
from core.registry import Registry
from sales.models import DailyTotal, Item, Store
from sales.selectors import WEEKLY, codes_of, history_frames, history_frequency
from sales.services import SaleRow, sales_record_batch
from streaming import selectors, simulation
from streaming.models import SalesEvent, SalesProfile
from streaming.signals import batch_recorded

logger = logging.getLogger(__name__)

STREAM_GROUP = "sales-stream"
# Any constant: the transaction-level advisory lock that serialises event-log appends.
_EVENT_LOG_LOCK = 0x5A1E5


# ---------------------------------------------------------------- profile

# Rows of history in memory at once while fitting profiles (~100 MB as a DataFrame).
PROFILE_CHUNK_ROWS = 2_000_000


def profile_fit() -> int:
    """Refit every store-item profile from the whole daily history (replacing the
    old ones). Returns how many profiles were written; 0 when there is no history."""
    end = DailyTotal.objects.aggregate(last=Max("date"))["last"]
    if end is None:
        logger.info("profile_fit skipped: no history")
        return 0
    # A group of items at a time: memory stays bounded at any size (a profile reads only its own series).
    parts, history_rows = [], 0
    for chunk in history_frames(max_rows=PROFILE_CHUNK_ROWS):
        history_rows += len(chunk)
        parts.append(simulation.profile_fit_frame(chunk, end=pd.Timestamp(end)))
    fitted = pd.concat(parts, ignore_index=True)
    now = timezone.now()
    profiles = [
        SalesProfile(
            store_id=int(row.store),
            item_id=int(row.item),
            level=float(row.level),
            trend=float(row.trend),
            dispersion=float(row.dispersion),
            weekday_factors=row.weekday_factors,
            month_factors=row.month_factors,
            reference_date=row.reference_date,
            history_end=row.history_end,
            fitted_at=now,
        )
        for row in fitted.itertuples(index=False)
    ]
    with transaction.atomic():
        SalesProfile.objects.all().delete()
        SalesProfile.objects.bulk_create(profiles, batch_size=1000)
    logger.info("profile_fit done", extra={"profiles": len(profiles), "history_rows": history_rows})
    return len(profiles)


# ---------------------------------------------------------------- event log


def sales_event_record(
    *,
    rows: Iterable[tuple[int, int, int | Decimal]],
    timestamp: datetime,
    source: str,
    interval_start: datetime | None = None,
    kind: str | None = None,
) -> SalesEvent | None:
    """Add (store, item, quantity) `rows` to the history on the local day of
    `interval_start` (generated) or `timestamp` (ingested), append the batch to the event log and publish it after commit.

    `kind` (SalesEvent.Kind) defaults to "ingested" for ingest and "generated" otherwise. A batch
    with no units is logged (it marks its interval as done) but not published.
    Callers validate that stores and items exist. Returns the event, or None when
    `interval_start` is given and that interval was already generated."""
    if kind is None:
        kind = SalesEvent.Kind.INGESTED if source == SalesEvent.Source.INGEST else SalesEvent.Kind.GENERATED
    day = timezone.localdate(interval_start or timestamp)
    merged: dict[tuple[int, int], Decimal] = {}
    for store_id, item_id, quantity in rows:
        if quantity:
            merged[(store_id, item_id)] = merged.get((store_id, item_id), Decimal(0)) + Decimal(quantity)
    compact = [(s, i, q) for (s, i), q in sorted(merged.items())]
    store_codes = codes_of(model=Store, ids={s for s, _, _ in compact})
    item_codes = codes_of(model=Item, ids={i for _, i, _ in compact})
    # The log speaks codes, as the stream, the API and the page do; the history keeps its ids.
    logged = [[store_codes[s], item_codes[i], number_plain(q)] for s, i, q in compact]
    with transaction.atomic():
        # Ids are taken and committed one writer at a time, so commit order is id order and
        # a stream that has delivered id N can never later see a smaller id commit. The ORM
        # has no advisory locks, hence SQL.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_EVENT_LOG_LOCK])
        if (
            interval_start is not None
            and SalesEvent.objects.filter(source=source, interval_start=interval_start).exists()
        ):
            return None
        total = sales_record_batch(
            rows=[SaleRow(date=day, store_id=s, item_id=i, sales=q) for s, i, q in compact],
            generated=source == SalesEvent.Source.GENERATOR,
        )
        event = SalesEvent.objects.create(
            timestamp=timestamp,
            date=day,
            source=source,
            kind=kind,
            interval_start=interval_start,
            rows=logged,
            total=total,
            row_breakdown=SalesEvent.breakdown(logged),
        )
        if total:
            payload = event.payload()
            transaction.on_commit(lambda: event_publish(payload=payload))
        # Every batch, empty ones too: a receiver watching for silence wants to know an interval was done.
        transaction.on_commit(lambda: batch_announce(event_id=event.id))
    return event


def batch_announce(*, event_id: int) -> None:
    """Send `streaming.signals.batch_recorded` for a committed batch. A receiver that fails is logged
    and skipped: the batch is recorded, and its followers must not turn that into an error."""
    for receiver, result in batch_recorded.send_robust(sender=SalesEvent, event_id=event_id):
        if isinstance(result, Exception):
            logger.warning("batch_recorded receiver failed", extra={"receiver": repr(receiver), "error": str(result)})


def event_publish(*, payload: dict) -> bool:
    """Send one `sales` event to every stream process. Returns False (and logs)
    when the channel layer is unreachable: the event is in the log already."""
    try:
        async_to_sync(get_channel_layer().group_send)(STREAM_GROUP, {"type": "sales.event", "event": payload})
    except Exception as error:  # any Redis failure; the stream catches up from the log
        logger.warning("event_publish failed", extra={"event_id": payload["id"], "error": str(error)})
        return False
    return True


def events_prune(*, older_than_days: int) -> int:
    """Delete event-log rows older than `older_than_days` (the units stay in the history)."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = SalesEvent.objects.filter(timestamp__lt=cutoff).delete()
    return deleted


# ---------------------------------------------------------------- generator


def interval_floor(*, moment: datetime, seconds: int) -> datetime:
    """Start of the `seconds`-long interval holding `moment` (intervals are aligned to the epoch)."""
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=moment.tzinfo or timezone.get_current_timezone())


def tick_generate(*, now: datetime | None = None, seed: int | None = None) -> list[int]:
    """Generate the sales of the interval that just ended (the last one ending at the latest interval
    boundary before `now`) as one "generated" event. Intervals of today missed before it (the first
    tick after a start, or after an outage) are drawn as one "catch-up" event first, so today's total
    is complete from the first tick on. Idempotent per interval: running it twice or late adds
    nothing twice. Nothing at all while settings.LIVE_GENERATOR is off, nor for a weekly history: live
    sales on a weekday its weeks are not dated on would turn it into a daily one. Returns the new event ids."""
    if not settings.LIVE_GENERATOR:
        return []  # a real history: nothing generated mixes into it (streaming.selectors.stream_health says so)
    now = now or timezone.now()
    seconds = settings.STREAMING_INTERVAL_SECONDS
    last_start = interval_floor(moment=now, seconds=seconds) - timedelta(seconds=seconds)
    latest = selectors.generated_interval_latest()
    if latest is not None and latest >= last_start:
        return []
    if history_frequency() == WEEKLY:
        return []
    profiles = _profile_arrays_ensure()
    if profiles is None:
        logger.warning("tick_generate skipped: no history to draw a profile from (load one first)")
        return []
    if _day_is_history(day=timezone.localdate(last_start), latest=latest, now=now):
        return []
    missed_from = _missed_from(latest=latest, last_start=last_start, seconds=seconds)
    missed = int((last_start - missed_from).total_seconds()) // seconds
    rng = np.random.default_rng(seed)
    created = []
    # One transaction: a catch-up recorded without the interval after it would leave a hole behind.
    with transaction.atomic():
        if missed:
            # A catch-up event is keyed by the last interval it covers, so the next tick continues after it.
            last_missed = last_start - timedelta(seconds=seconds)
            kind = SalesEvent.Kind.CATCH_UP
            event = _interval_generate(
                profiles, start=missed_from, intervals=missed, key=last_missed, now=now, rng=rng, kind=kind
            )
            created += [event.id] if event else []
        event = _interval_generate(profiles, start=last_start, intervals=1, key=last_start, now=now, rng=rng)
        created += [event.id] if event else []
    if created:
        logger.info("tick_generate", extra={"events": created, "caught_up_intervals": missed})
    return created


def _profile_arrays_ensure() -> simulation.ProfileArrays | None:
    """The generator's profiles, fitted from the history first when there are none yet. A load that
    queued no follow-ups (`--no-followups`, or a broker that was down) leaves none, and whether its
    aligned gap fill fitted them depended on the weekday the history ended on: the generator's readiness
    must not. None when there is no history at all."""
    profiles = selectors.profile_arrays()
    if profiles is None and profile_fit():
        profiles = selectors.profile_arrays()
    return profiles


def _day_is_history(*, day: date, latest: datetime | None, now: datetime) -> bool:
    """Whether `day`, the day of the interval that just ended, is a past day that the history holds
    whole: the first tick of a day, before today's first interval has ended, would otherwise catch up
    yesterday's hours onto a day that a load or a gap fill already drew in full. A day the generator
    was running on is not: its missed hours are caught up."""
    if day >= timezone.localdate(now) or (latest is not None and timezone.localdate(latest) >= day):
        return False
    return DailyTotal.objects.filter(date=day).exists()


def _missed_from(*, latest: datetime | None, last_start: datetime, seconds: int) -> datetime:
    """Start of the intervals to catch up before `last_start`: after the latest generated one, but not
    before the start of today (whole days missed are filled by `history_days_generate`)."""
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(last_start), time.min))
    first_today = interval_floor(moment=midnight, seconds=seconds)
    if first_today < midnight:
        first_today += timedelta(seconds=seconds)
    after_latest = latest + timedelta(seconds=seconds) if latest is not None else first_today
    return min(max(after_latest, first_today), last_start)


def _interval_generate(
    profiles: simulation.ProfileArrays,
    *,
    start: datetime,
    intervals: int,
    key: datetime,
    now: datetime,
    rng: np.random.Generator,
    kind: str = SalesEvent.Kind.GENERATED,
) -> SalesEvent | None:
    """Draw `intervals` consecutive intervals from `start` as one batch (a sum of the generator's
    interval draws has the same distribution as one draw over the whole span: see simulation)."""
    seconds = settings.STREAMING_INTERVAL_SECONDS
    units = simulation.interval_draw(
        profiles,
        day=timezone.localdate(start),
        fraction=_day_share(profiles, start=start, end=start + timedelta(seconds=seconds * intervals)),
        rng=rng,
        trend_horizon_days=settings.STREAMING_TREND_HORIZON_DAYS,
    )[0]
    rows = _nonzero_rows(profiles, units)
    return sales_event_record(
        rows=rows, timestamp=now, source=SalesEvent.Source.GENERATOR, interval_start=key, kind=kind
    )


# The share of a day's sales made between two moments, per store: `share(start=, end=, store_ids=)` -> an
# array aligned on `store_ids`. Alerts registers the intraday curve its rules are paced by, so the generator
# follows the same shape; with none registered the day is flat over 24 hours.
INTRADAY_SHARE: Registry[Callable[..., np.ndarray]] = Registry("intraday share")


def _day_share(profiles: simulation.ProfileArrays, *, start: datetime, end: datetime) -> float | np.ndarray:
    """The fraction of each profile's day drawn for [start, end): the registered intraday shape, else flat."""
    flat = (end - start).total_seconds() / 86400
    share = INTRADAY_SHARE.one()
    if share is None:
        return flat
    try:
        return np.asarray(share(start=start, end=end, store_ids=profiles.store_ids), dtype=float)
    except Exception as error:  # a broken shape must not stop the stream: flat, and say so
        logger.warning("intraday share failed, drawing a flat day", extra={"error": str(error)})
        return flat


def history_days_generate(*, start: date, end: date, seed: int | None = None) -> list[date]:
    """Fill each day start..end (inclusive) that has no sales with a whole day drawn from the live
    generator's profile (fitted now from the history), marked generated. No events: these days are
    history, not live batches. Registered with sales as its gap filler (a load aligned to today).
    Nothing while settings.LIVE_GENERATOR is off. Returns the days filled."""
    if not settings.LIVE_GENERATOR:
        logger.info("history_days_generate skipped: the live generator is off (LIVE_GENERATOR)")
        return []
    have = set(DailyTotal.objects.filter(date__gte=start, date__lte=end).values_list("date", flat=True))
    days = [start + timedelta(days=k) for k in range((end - start).days + 1)]
    days = [day for day in days if day not in have]
    profiles = selectors.profile_arrays() if days and profile_fit() else None
    if profiles is None:
        return []
    rng = np.random.default_rng(seed)
    for day in days:
        units = simulation.interval_draw(
            profiles, day=day, fraction=1.0, rng=rng, trend_horizon_days=settings.STREAMING_TREND_HORIZON_DAYS
        )[0]
        rows = [SaleRow(date=day, store_id=s, item_id=i, sales=q) for s, i, q in _nonzero_rows(profiles, units)]
        sales_record_batch(rows=rows, generated=True)
    logger.info("history_days_generate", extra={"days": len(days), "first": days[0].isoformat()})
    return days


def _nonzero_rows(profiles: simulation.ProfileArrays, units: np.ndarray) -> Sequence[tuple[int, int, int]]:
    (hits,) = np.nonzero(units)
    return [(int(profiles.store_ids[k]), int(profiles.item_ids[k]), int(units[k])) for k in hits]


# ---------------------------------------------------------------- ingest


def sales_ingest(*, rows: Iterable[tuple[int, int, int | Decimal]], timestamp: datetime | None = None) -> SalesEvent:
    """Record sales reported from outside (validated by the caller) as one event: (store id, item id,
    units) rows, units whole or with up to three decimals, negative for returns."""
    event = sales_event_record(rows=rows, timestamp=timestamp or timezone.now(), source=SalesEvent.Source.INGEST)
    assert event is not None  # only generated intervals can be duplicates
    return event
