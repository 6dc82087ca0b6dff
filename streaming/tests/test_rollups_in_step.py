"""The live path keeps every sales rollup in step with sales_sale: ticks (new and existing
store-item days) and ingested batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from sales import selectors
from sales.models import Sale
from sales.tests.factories import rollups_mismatches
from streaming import services

NOW = datetime(2026, 11, 24, 11, 40, 30, tzinfo=UTC)


@pytest.mark.django_db
@override_settings(STREAMING_INTERVAL_SECONDS=600, STREAMING_CATCHUP_INTERVALS=6)
def test_ticks_and_ingests_keep_the_rollups_in_step(small_history):
    assert rollups_mismatches() == []
    before = selectors.sale_count(filters=selectors.SalesFilters())
    services.tick_generate(now=NOW, seed=1)
    services.tick_generate(now=NOW + timedelta(hours=1), seed=2)  # catches up, on store-item days the first created
    services.sales_ingest(rows=[(1, 1, 4), (2, 3, 9), (1, 1, 2)])
    assert rollups_mismatches() == []
    # New store-item days are counted once, however many batches land on them.
    assert selectors.sale_count(filters=selectors.SalesFilters()) == Sale.objects.count() > before
