"""The process fixtures other tests build on: they must really serve and really work."""

import subprocess
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.test import override_settings

from config.celery import app
from core.testing import DaphneProcess, process_env


@pytest.mark.django_db(transaction=True)
def test_daphne_server_serves_the_project_and_restarts_on_the_same_port(daphne_server):
    assert httpx.get(f"{daphne_server.url}/api/schema/", timeout=10).status_code == 200
    port = daphne_server.port
    daphne_server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{daphne_server.url}/api/schema/", timeout=2)
    daphne_server.start()
    assert daphne_server.port == port
    assert httpx.get(f"{daphne_server.url}/api/schema/", timeout=10).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_celery_worker_process_answers_and_runs_tasks(celery_worker_process):
    replies = app.control.ping(timeout=2)
    assert any(celery_worker_process.hostname.split("@")[0] in name for reply in replies for name in reply)
    # celery.accumulate is a built-in task: it proves a round trip through broker, worker and result backend.
    result = app.send_task("celery.accumulate", args=[7, 11])
    assert result.get(timeout=30) == [7, 11]


# Far from the default start, on another weekday and just before midnight in TIME_ZONE.
ELSEWHERE = datetime(2026, 3, 29, 23, 58, tzinfo=ZoneInfo("Europe/Berlin"))


def test_a_spawned_process_reads_the_tests_clock(time_machine):
    time_machine.move_to(ELSEWHERE, tick=True)
    script = "import datetime; print(datetime.datetime.now(datetime.UTC).isoformat())"
    out = subprocess.run([sys.executable, "-c", script], env=process_env(), capture_output=True, text=True, check=True)
    child = datetime.fromisoformat(out.stdout.strip())
    # Both clocks tick on from the same instant: the child's reading lies between the test's two.
    assert ELSEWHERE <= child <= datetime.now(UTC)


@pytest.mark.django_db(transaction=True)
@override_settings(TIME_ZONE="Europe/Berlin")
def test_daphne_serves_on_the_tests_clock(time_machine, viewer_token, tmp_path):
    time_machine.move_to(ELSEWHERE, tick=True)
    server = DaphneProcess(log_dir=tmp_path, headers={"Authorization": f"Token {viewer_token}"})
    server.start()
    try:
        today = server.get("/api/sales/metrics/").json()["today"]["date"]
    finally:
        server.stop()
    assert today == ELSEWHERE.date().isoformat()


@pytest.mark.django_db(transaction=True)
def test_the_browsers_pages_read_the_tests_clock(time_machine, browser):
    time_machine.move_to(ELSEWHERE, tick=True)
    page = browser.page()
    shown = datetime.fromtimestamp(page.evaluate("Date.now()") / 1000, tz=UTC)
    assert ELSEWHERE <= shown <= datetime.now(UTC)
