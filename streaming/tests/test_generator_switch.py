"""The generator switch (settings.LIVE_GENERATOR): on, the demo's tick and gap fill draw sales from the history's
profile; off, nothing generated mixes into a real history, and the page, /health and the load say so."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from sales.models import Sale
from sales.sample import sample_generate
from streaming import selectors, services
from streaming.models import SalesEvent
from streaming.tests.test_gap_fill import GAP_DAYS, sample_ending_before_today

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 11, 40, 30, tzinfo=UTC)


@pytest.mark.parametrize("on", [True, False])
def test_the_tick_records_only_while_the_generator_is_on(small_history, settings, on):
    # Through the fixture, not @override_settings: the two are undone in the wrong order (the interval leaks).
    settings.STREAMING_INTERVAL_SECONDS = 3600
    settings.LIVE_GENERATOR = on
    ids = services.tick_generate(now=NOW, seed=1)
    assert bool(ids) is on
    assert SalesEvent.objects.exists() is on
    assert Sale.objects.filter(date=NOW.date()).exists() is on
    health = selectors.stream_health()
    assert health["generator"] == ("on" if on else "off")
    if not on:
        # No tick is due: the stream is not "stale" for want of one.
        assert health["status"] == "ok"


@pytest.mark.parametrize("on", [True, False])
def test_the_gap_fill_fills_only_while_the_generator_is_on(tmp_path, settings, on):
    settings.LIVE_GENERATOR = on
    path = sample_ending_before_today(tmp_path, gap_days=GAP_DAYS)
    out = StringIO()
    call_command("load_train", str(path), align_to_today=True, no_followups=True, stdout=out)
    generated = set(Sale.objects.filter(generated=True).values_list("date", flat=True))
    assert len(generated) == (GAP_DAYS if on else 0)
    if on:
        assert f"{GAP_DAYS} days after it generated" in out.getvalue()
        # Not the demo's sample file: the load says how to keep generated sales out of a real history.
        assert "LIVE_GENERATOR=false" in out.getvalue()
    else:
        assert "the live generator is off (LIVE_GENERATOR=false): no day after the history was filled" in out.getvalue()
        assert "note: the live generator is on" not in out.getvalue()
    # The restart catch-up (fill_gap, bootstrap) goes through the same gap fill.
    call_command("fill_gap", stdout=StringIO())
    assert len(set(Sale.objects.filter(generated=True).values_list("date", flat=True))) == (GAP_DAYS if on else 0)


def test_loading_the_sample_file_says_nothing_of_the_generator(tmp_path, settings):
    settings.TRAIN_CSV_PATH = tmp_path / "train.csv"
    sample_generate(path=settings.TRAIN_CSV_PATH, stores=2, items=3, start=date(2017, 1, 1), end=date(2017, 3, 31))
    out = StringIO()
    call_command("load_train", no_followups=True, stdout=out)
    assert "loaded" in out.getvalue() and "LIVE_GENERATOR" not in out.getvalue()


@pytest.mark.parametrize("on", [True, False])
def test_the_page_says_when_the_generator_is_off(client, settings, on):
    settings.LIVE_GENERATOR = on
    html = client.get("/").text
    assert ('id="generator-off"' in html) is not on
    assert ("The live generator is off" in html) is not on
    assert f'"live_generator": {"true" if on else "false"}' in html


@pytest.mark.parametrize(("value", "on"), [(None, True), ("false", False), ("on", True)])
def test_the_setting_reads_the_environment(value, on):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "LIVE_GENERATOR"}
    env |= {"LIVE_GENERATOR": value} if value is not None else {}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    code = "import django; django.setup(); from django.conf import settings; print(settings.LIVE_GENERATOR)"
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == str(on)
