"""The upload page in real Chromium, against a real Daphne and a real Celery worker on the `load` queue."""

from __future__ import annotations

import gzip
from datetime import timedelta

import pytest
from django.utils import timezone

from core.testing import axe_install, axe_violations, history_load, in_thread, screenshot
from uploads.tests.conftest import table_hold

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

READY = "html[data-ready=true]"
WAIT_MS = 30_000
LAYOUTS = [(1280, 900, "light"), (1280, 900, "dark"), (390, 844, "light"), (390, 844, "dark")]


def recent_file(path, *, days: int = 10, stores: int = 2, items: int = 2, pad_rows: int = 0) -> int:
    """A CSV whose header the page cannot fully guess (`amount` is the units), dated in the last `days`
    days before today; `pad_rows` extra rows in earlier years make it span several upload pieces.
    Returns the units dated in the last year (what the dashboard's total shows)."""
    today = timezone.localdate()
    lines, total = ["day,shop,product,amount"], 0
    for back in range(days, 0, -1):
        for store in range(1, stores + 1):
            for item in range(1, items + 1):
                units = back + store * 10 + item
                lines.append(f"{today - timedelta(days=back)},{store},{item},{units}")
                total += units
    start = today - timedelta(days=3 * 365)
    for n in range(pad_rows):
        lines.append(f"{start - timedelta(days=n // 4)},{n % 2 + 1},{n // 2 % 2 + 1},1")
    path.write_text("\n".join(lines) + "\n")
    return total


@pytest.fixture
def loaded(tmp_path):
    history_load(tmp_path, stores=2, items=2)


def upload_and_map(page, path) -> None:
    page.set_input_files("#file", str(path))
    page.wait_for_selector("#mapping:not([hidden])", timeout=WAIT_MS)
    assert "No column is mapped to: sales" in page.inner_text("#mapping-missing")
    assert page.is_disabled("#start")
    page.select_option("select[data-column=amount]", "sales")
    page.wait_for_selector("#mapping-missing[hidden]", state="attached", timeout=WAIT_MS)


def test_an_editor_uploads_corrects_a_column_sees_progress_then_the_dashboard_shows_the_data(
    loaded, tmp_path, load_worker, upload_server, editor_browser
):
    path = tmp_path / "recent.csv"
    total = recent_file(path)
    context = editor_browser.chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.add_cookies(editor_browser.cookies)
    dashboard, page = _page(context), _page(context)
    dashboard.goto(upload_server.url)
    dashboard.wait_for_selector(READY, timeout=WAIT_MS)
    assert dashboard.locator('[data-kpi="total"] .kpi__value').get_attribute("data-value") != str(total)
    dashboard.click("text=Upload data")
    dashboard.wait_for_selector("#file", timeout=WAIT_MS)
    dashboard.go_back()
    dashboard.wait_for_selector(READY, timeout=WAIT_MS)

    page.goto(f"{upload_server.url}/upload/")
    page.wait_for_selector(READY, timeout=WAIT_MS)
    upload_and_map(page, path)
    roles = page.eval_on_selector_all("#preview select", "s => s.map((n) => [n.dataset.column, n.value])")
    assert roles == [["day", "date"], ["shop", "store"], ["product", "item"], ["amount", "sales"]]
    holder = in_thread(table_hold)  # the load stops at its swap, so that its progress can be seen
    try:
        page.click("#start")
        page.wait_for_function(
            "() => document.getElementById('load-label').textContent.includes('Rebuilding the totals')",
            timeout=WAIT_MS,
        )
        assert f"{4 * 10} rows" in page.inner_text("#load-label")
        assert page.is_visible("#load-cancel")
    finally:
        in_thread(holder.close)
    page.wait_for_function(
        "() => document.getElementById('load-label').textContent.startsWith('Loaded 40 rows')", timeout=WAIT_MS
    )
    page.wait_for_function("() => document.getElementById('history').textContent.includes('recent.csv')")
    screenshot(page, "upload-done-desktop-light")
    # The dashboard, open in the other tab and never reloaded, shows the new history.
    dashboard.wait_for_function(
        f"() => document.querySelector('[data-kpi=\"total\"] .kpi__value').dataset.value === '{total}'", timeout=WAIT_MS
    )
    assert page.errors == [] and dashboard.errors == []


def test_a_bad_file_shows_its_report_and_the_page_passes_axe_at_every_width(
    loaded, tmp_path, load_worker, upload_server, editor_browser
):
    path = tmp_path / "bad.csv"
    recent_file(path)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",one"  # units that are not a number (any text is a code)
    path.write_text("\n".join(lines) + "\n")
    before = in_thread(_history)
    page = editor_browser.page()
    page.goto(f"{upload_server.url}/upload/")
    page.wait_for_selector(READY, timeout=WAIT_MS)
    upload_and_map(page, path)
    page.click("#start")
    page.wait_for_selector("#report:not([hidden])", timeout=WAIT_MS)
    assert "1 problem(s) in bad.csv; nothing was written" in page.inner_text("#load-label")
    assert "line 4" not in page.inner_text("#report")  # a table, not sentences
    assert page.eval_on_selector_all("#report tbody tr", "rows => rows.map((r) => r.innerText)") == [
        "4\tamount\t'one'\tis not a decimal number (at most 3 decimal places)"
    ]
    assert in_thread(_history) == before
    key = page.get_attribute("#report-csv", "href")
    for width, height, scheme in LAYOUTS:
        view = editor_browser.page(width=width, height=height, scheme=scheme)
        axe_install(view)
        view.goto(f"{upload_server.url}/upload/")
        view.wait_for_selector(READY, timeout=WAIT_MS)
        # The same job, reopened: the report as the page shows it after a load.
        view.evaluate(f"sessionStorage.setItem('upload-job', '{key.split('/')[3]}'); location.reload()")
        view.wait_for_selector("#report:not([hidden])", timeout=WAIT_MS)
        screenshot(view, f"upload-report-{width}-{scheme}")
        assert axe_violations(view, impacts=None) == []
        assert view.errors == []
        view.context.close()


def test_the_mapping_step_passes_axe_and_looks_right_at_every_width(tmp_path, upload_server, editor_browser):
    path = tmp_path / "recent.csv"
    recent_file(path)
    for width, height, scheme in LAYOUTS:
        page = editor_browser.page(width=width, height=height, scheme=scheme)
        axe_install(page)
        page.goto(f"{upload_server.url}/upload/")
        page.wait_for_selector(READY, timeout=WAIT_MS)
        upload_and_map(page, path)
        screenshot(page, f"upload-mapping-{width}-{scheme}")
        assert axe_violations(page, impacts=None) == []
        assert page.errors == []
        page.context.close()


def test_a_dropped_connection_resumes_where_it_stopped(tmp_path, upload_server, editor_browser, upload_dir):
    path = tmp_path / "big.csv"
    recent_file(path, pad_rows=20_000)
    assert path.stat().st_size > 3 * 64 * 1024
    page = editor_browser.page()
    seen = []
    page.on("request", lambda r: seen.append(r.method) if "/api/uploads/files/" in r.url else None)
    dropped = []

    def drop_the_second_piece(route):
        if route.request.method == "PATCH" and seen.count("PATCH") == 2 and not dropped:
            dropped.append(True)
            return route.abort("connectionreset")
        return route.continue_()

    page.route("**/api/uploads/files/**", drop_the_second_piece)
    page.goto(f"{upload_server.url}/upload/")
    page.wait_for_selector(READY, timeout=WAIT_MS)
    page.set_input_files("#file", str(path))
    page.wait_for_selector("#mapping:not([hidden])", timeout=WAIT_MS)
    assert dropped and "HEAD" in seen  # it asked the server where to go on
    stored = list(upload_dir.iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == path.read_bytes()


def test_an_oversized_file_and_a_zip_bomb_are_refused_with_a_reason(tmp_path, upload_server, editor_browser):
    bomb = tmp_path / "sales.csv.gz"
    bomb.write_bytes(gzip.compress(b"0" * 50_000_000))
    page = editor_browser.page()
    page.goto(f"{upload_server.url}/upload/")
    page.wait_for_selector(READY, timeout=WAIT_MS)
    page.set_input_files("#file", str(bomb))
    page.wait_for_function(
        "() => document.getElementById('send-label').textContent.includes('compression bomb')", timeout=WAIT_MS
    )
    page.evaluate("document.querySelector('main').dataset.maxBytes")
    # Over the cap: the server refuses the creation (the cap is 20 GB here, so a file that claims more).
    answer = page.evaluate(
        """async () => (await fetch('/api/uploads/files/', {method: 'POST', headers: {'Tus-Resumable': '1.0.0',
             'Upload-Length': String(21 * 1024 ** 3), 'X-CSRFToken': document.querySelector('main').dataset.csrf}}))
             .json()"""
    )
    assert "largest upload taken" in answer["error"]


def test_a_viewer_sees_no_link_and_is_refused_the_page(loaded, upload_server, editor_browser):
    context = editor_browser.chromium.new_context()
    context.add_cookies(editor_browser.viewer_cookies)
    page = _page(context)
    page.goto(upload_server.url)
    page.wait_for_selector(READY, timeout=WAIT_MS)
    assert page.locator("text=Upload data").count() == 0
    assert page.goto(f"{upload_server.url}/upload/").status == 403


def _page(context):
    """A page of a shared context (two tabs of one browser), recording errors as Browser.page does."""
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(f"uncaught: {e}"))
    return page


def _history():
    from sales.models import Sale

    return sorted(Sale.objects.values_list("date", "store_id", "item_id", "sales"))


def test_only_an_editors_session_gets_the_upload_cap_before_the_body_is_read(
    upload_server, editor_session, viewer_session
):
    import httpx
    from django.conf import settings

    from uploads.tests.conftest import GENERAL_TEST_CAP, UPLOAD_TEST_CHUNK

    piece = b"x" * (GENERAL_TEST_CAP + 1)
    assert len(piece) < UPLOAD_TEST_CHUNK
    headers = {"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    url = f"{upload_server.url}/api/uploads/files/{'0' * 32}"
    for session in (None, viewer_session):
        cookies = {settings.SESSION_COOKIE_NAME: session} if session else {}
        answer = httpx.patch(url, content=piece, headers=headers, cookies=cookies, timeout=30)
        assert answer.status_code == 413 and "larger than this route takes" in answer.json()["error"]
    # An editor's piece of the same size reaches the view (which finds no such upload).
    editor = httpx.Client(cookies={settings.SESSION_COOKIE_NAME: editor_session}, timeout=30)
    editor.get(f"{upload_server.url}/upload/").raise_for_status()
    answer = editor.patch(url, content=piece, headers={**headers, "X-CSRFToken": editor.cookies["csrftoken"]})
    assert answer.status_code == 404 and answer.json()["error"] == "no such upload"


def test_m5s_wide_file_goes_up_with_its_calendar_and_loads(tmp_path, load_worker, upload_server, editor_browser):
    from django.core.management import call_command

    folder = tmp_path / "m5"
    call_command("generate_sample", str(folder), "--layout", "m5", stdout=None)
    for width, height, scheme in [(1280, 900, "light"), (390, 844, "dark")]:
        page = editor_browser.page(width=width, height=height, scheme=scheme)
        axe_install(page)
        page.goto(f"{upload_server.url}/upload/")
        page.wait_for_selector(READY, timeout=WAIT_MS)
        # Picked together, calendar first: the page makes the sales file the one that loads.
        page.set_input_files("#file", [str(folder / "calendar.csv"), str(folder / "sales_train_evaluation.csv")])
        page.wait_for_selector("#companions h3", timeout=WAIT_MS)
        kinds = page.eval_on_selector_all("#files select", "s => s.map((n) => [n.dataset.file, n.value])")
        assert kinds == [["sales_train_evaluation.csv", "sales"], ["calendar.csv", "calendar"]]
        assert "layout m5" in page.inner_text("#mapping-sub")
        assert page.inner_text("#companions h3") == "calendar.csv (calendar)"
        assert page.is_hidden("#mapping-missing") and page.is_enabled("#start")
        screenshot(page, f"upload-m5-calendar-{width}-{scheme}")
        assert axe_violations(page, impacts=None) == []
        if width < 1000:
            page.click("#discard")  # the phone's run only looks
            page.context.close()
            continue
        page.click("#start")
        page.wait_for_function(
            "() => document.getElementById('load-label').textContent.startsWith('Loaded ')", timeout=WAIT_MS
        )
        rows = in_thread(lambda: __import__("sales.models").models.Sale.objects.count())
        assert rows > 0 and f"Loaded {rows:,} rows" in page.inner_text("#load-label")
        page.wait_for_function(
            "() => document.getElementById('history').textContent.includes('sales_train_evaluation.csv + calendar.csv')"
        )
        assert page.errors == []
        page.context.close()


def test_a_stores_file_alone_is_accepted_once_its_kind_is_corrected(
    loaded, tmp_path, load_worker, upload_server, editor_browser
):
    path = tmp_path / "shops.csv"
    path.write_text("code,name\nS1,Shop one\nS2,Shop two\n")  # a header that could be any kind: taken for sales
    before = in_thread(_history)
    page = editor_browser.page()
    axe_install(page)
    page.goto(f"{upload_server.url}/upload/")
    page.wait_for_selector(READY, timeout=WAIT_MS)
    page.set_input_files("#file", str(path))
    page.wait_for_selector("#mapping:not([hidden])", timeout=WAIT_MS)
    assert page.is_disabled("#start")
    page.select_option("select[data-file='shops.csv']", "stores")
    page.wait_for_function("() => document.getElementById('mapping-sub').textContent.includes('a stores file')")
    page.wait_for_selector("#mapping-missing[hidden]", state="attached", timeout=WAIT_MS)
    assert page.is_hidden("#mode")  # replace or append is a sales file's choice
    assert "text · store" in page.inner_text("#preview thead")
    assert axe_violations(page, impacts=None) == []
    page.click("#start")
    page.wait_for_function(
        "() => document.getElementById('load-label').textContent.startsWith('Read 2 rows from shops.csv')",
        timeout=WAIT_MS,
    )
    assert in_thread(_history) == before
    page.wait_for_function("() => document.getElementById('history').textContent.includes('shops.csv')")
    screenshot(page, "upload-stores-alone-desktop-light")
    assert page.errors == []
