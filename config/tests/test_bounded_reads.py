"""No single read sinks the server: against a real Daphne, a large aggregated read answers a bounded
page (with `next`) or a streamed CSV with the server's memory flat, and a slow query meets the
statement timeout as a JSON 503."""

from __future__ import annotations

import psutil
import psycopg
import pytest

from core import testing
from core.testing import DaphneProcess, history_load

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024
ITEMS = 150


@pytest.fixture
def wide_history(tmp_path, django_db_setup):
    """2 stores x 150 items over two years: about 110,000 (day, item) rows."""
    return history_load(tmp_path, stores=2, items=ITEMS, align_to_today=False)


def test_a_large_aggregated_read_is_a_bounded_page_or_a_streamed_csv(wide_history, viewer_token, tmp_path):
    server = DaphneProcess(log_dir=tmp_path, headers={"Authorization": f"Token {viewer_token}"})
    server.start()
    try:
        daphne = psutil.Process(server.process.pid)
        days = wide_history.frame["date"].nunique()
        page = server.get("/api/sales/aggregated?granularity=day&group_by=item")
        assert page.status_code == 200
        body = page.json()
        assert len(body["results"]) == 10_000
        assert len(page.content) < 1 * MB
        assert body["next"].startswith(f"{server.url}/api/sales/aggregated?") and "after=" in body["next"]
        second = server.get(body["next"].removeprefix(server.url)).json()
        assert second["results"][0]["period"] >= body["results"][-1]["period"]
        before = daphne.memory_info().rss
        lines = 0
        with server_stream(server, "/api/sales/aggregated?granularity=day&group_by=item&format=csv") as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/csv; charset=utf-8"
            for _ in response.iter_lines():
                lines += 1
        assert lines == 1 + days * ITEMS
        # The whole answer as JSON would be about 6 MB and several times that in the server's memory.
        assert daphne.memory_info().rss - before < 25 * MB
    finally:
        server.stop()


def server_stream(server: DaphneProcess, path: str):
    import httpx

    return httpx.stream("GET", f"{server.url}{path}", headers=server.headers, timeout=60)


def test_a_slow_query_meets_the_statement_timeout(wide_history, viewer_token, tmp_path):
    server = DaphneProcess(
        log_dir=tmp_path,
        headers={"Authorization": f"Token {viewer_token}"},
        env={"REQUEST_STATEMENT_TIMEOUT_MS": "500"},
    )
    server.start()
    try:
        # Another session holds the per-item rollup: the read waits on its lock until the timeout stops it.
        with psycopg.connect(testing.test_database_url()) as blocker:
            blocker.execute("LOCK TABLE sales_dailyitemtotal IN ACCESS EXCLUSIVE MODE")
            response = server.get("/api/sales/aggregated?group_by=item", timeout=30)
            blocker.rollback()
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
        assert "REQUEST_STATEMENT_TIMEOUT_MS" in response.json()["error"]
        assert "500 ms" in response.json()["error"]
        # The connection goes back to work afterwards.
        assert server.get("/api/sales/aggregated?group_by=item&page_size=5").status_code == 200
    finally:
        server.stop()
