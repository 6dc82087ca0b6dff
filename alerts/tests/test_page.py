"""The alerts page in real Chromium against a real Daphne and Celery worker: an editor writes a rule, sees
its preview, saves it and sees it fire on a live batch; a viewer sees the alerts but cannot edit.

The servers run on the real clock (time_machine cannot reach another process), so nothing here depends on
the date or the hour: the rule is a threshold on today's sales so far, the history the three days before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.testing import in_thread, screenshot, session_cookies

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def recent_history(shop):
    from sales.services import SaleRow, sales_record_batch

    today = timezone.localdate()
    sales_record_batch(
        rows=[SaleRow(date=today - timedelta(days=k), store_id=1, item_id=1, sales=7) for k in (1, 2, 3)]
    )


@pytest.fixture
def editor_session(editor) -> str:
    from django.conf import settings
    from django.test import Client

    login = Client()
    login.force_login(editor)
    return login.cookies[settings.SESSION_COOKIE_NAME].value


def _ingest() -> None:
    from streaming.services import sales_ingest

    sales_ingest(rows=[(1, 2, 5)])


def test_an_editor_previews_saves_and_sees_a_rule_fire_and_a_viewer_cannot_edit(
    recent_history, editor_session, daphne_server, celery_worker_process, browser
):
    viewer_cookies = browser.cookies
    browser.cookies = session_cookies(session_key=editor_session)
    page = browser.page()
    page.goto(f"{daphne_server.url}/alerts/")
    form = page.locator("#rule-form")
    form.locator("input[name=name]").fill("CA_1 selling")
    form.locator("select[name=level]").select_option("store")
    form.locator("select[name=store]").select_option("CA_1")
    form.locator("select[name=condition]").select_option("threshold")
    form.locator("select[name=direction]").select_option("above")
    form.locator("input[name=threshold]").fill("0")
    # The preview: daily totals of the three days before today (no batches yet), each over the threshold.
    page.locator("#preview-sub", has_text="Would have fired at 3 of").wait_for()
    assert "days replayed from recorded batches" in page.locator("#preview-sub").text_content()
    screenshot(page, "alerts-editor-preview")
    form.locator("button[type=submit]").click()
    page.locator(".ruleform__status", has_text="Saved").wait_for()
    assert page.locator("#firing .empty").is_visible()

    # A live batch for store CA_1 (internal id 1): the worker evaluates it, the page shows the alert and the badge counts it.
    in_thread(_ingest)
    page.locator("#firing tbody tr", has_text="CA_1 selling").wait_for()
    row = page.locator("#firing tbody tr").first.text_content()
    assert "store CA_1" in row and "Alerting" in row and "store CA_1: 5 so far, above 0" in row
    page.locator("#alerts-badge .alerts-link__count", has_text="1").wait_for()
    screenshot(page, "alerts-firing")
    assert page.errors == []

    browser.cookies = viewer_cookies
    viewer = browser.page(width=390, height=844)
    viewer.goto(f"{daphne_server.url}/alerts/")
    viewer.locator("#firing tbody tr", has_text="CA_1 selling").wait_for()
    assert viewer.locator("#rule-form").count() == 0
    assert viewer.locator("#readonly").is_visible()
    screenshot(viewer, "alerts-viewer-phone")
    assert viewer.errors == []
    # The API refuses the write too (the 403 is logged on the console, after the check above).
    status = viewer.evaluate(
        """async () => (await fetch('/api/alerts/rules', {method: 'POST', headers: {'Content-Type': 'application/json',
        'X-CSRFToken': document.cookie.replace(/.*csrftoken=([^;]*).*/, '$1')}, body: JSON.stringify({name: 'x',
        condition: 'threshold', threshold: 1})})).status"""
    )
    assert status == 403
