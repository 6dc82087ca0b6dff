"""streaming.signals.batch_recorded: sent once per recorded batch, after its transaction commits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from sales.models import Item, Store
from streaming.models import SalesEvent
from streaming.services import sales_ingest
from streaming.signals import batch_recorded

pytestmark = pytest.mark.django_db(transaction=True)


def test_batch_recorded_is_sent_after_the_commit_with_the_event_id():
    Store.objects.create(id=1, code="1", name="Store 1")
    Item.objects.create(id=1, code="1", name="Item 1")
    seen: list[tuple[int, bool]] = []

    def receiver(sender, *, event_id, **kwargs):
        # Another connection's view: the event is there only once committed.
        seen.append((event_id, SalesEvent.objects.filter(pk=event_id).exists()))

    batch_recorded.connect(receiver, dispatch_uid="test-receiver")
    try:
        with transaction.atomic():
            event = sales_ingest(rows=[(1, 1, 3)], timestamp=datetime(2026, 3, 4, 12, tzinfo=UTC))
            assert seen == []
        assert seen == [(event.id, True)]
    finally:
        batch_recorded.disconnect(dispatch_uid="test-receiver")


def test_a_failing_receiver_does_not_undo_the_batch():
    Store.objects.create(id=1, code="1", name="Store 1")
    Item.objects.create(id=1, code="1", name="Item 1")

    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    batch_recorded.connect(broken, dispatch_uid="test-broken")
    try:
        event = sales_ingest(rows=[(1, 1, 3)], timestamp=datetime(2026, 3, 4, 12, tzinfo=UTC))
    finally:
        batch_recorded.disconnect(dispatch_uid="test-broken")
    assert SalesEvent.objects.filter(pk=event.pk).exists()
