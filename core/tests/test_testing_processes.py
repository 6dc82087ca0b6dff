"""The process fixtures other tests build on: they must really serve and really work."""

import httpx
import pytest

from config.celery import app


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
