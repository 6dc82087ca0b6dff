"""The pages pass their Content-Security-Policy with no network beyond our own server: the dashboard,
the login page, the API docs (Swagger UI from our own static files) and the admin, in real Chromium.
Every `securitypolicyviolation` event, console error and request to another host fails the test."""

from __future__ import annotations

import pytest

from core.testing import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture
def staff_session(db) -> str:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    login = Client()
    login.force_login(get_user_model().objects.create(username="boss", is_staff=True, is_superuser=True))
    return login.cookies[settings.SESSION_COOKIE_NAME].value


def offline_page(browser, server, **kwargs):
    """A page that records CSP violations and may reach nothing but `server` (the rest is aborted and noted)."""
    page = browser.page(**kwargs)
    page.add_init_script(VIOLATIONS)
    page.outside = []

    def only_ours(route):
        if route.request.url.startswith(server.url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_ours)
    return page


def assert_clean(page) -> None:
    assert page.evaluate("window.__violations") == []
    assert page.errors == []
    assert page.outside == []


def test_dashboard_login_docs_and_admin_pass_the_policy_offline(sample_sales, staff_session, daphne_server, browser):
    from core.testing import session_cookies

    dashboard = offline_page(browser, daphne_server)
    response = dashboard.goto(daphne_server.url)
    dashboard.wait_for_selector('#connection[data-status="live"]', timeout=10_000)
    assert_clean(dashboard)
    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]

    login = offline_page(browser, daphne_server, anonymous=True)
    login.goto(f"{daphne_server.url}/login/")
    login.wait_for_selector("#id_username")
    assert_clean(login)

    docs = offline_page(browser, daphne_server, anonymous=True)
    docs.goto(f"{daphne_server.url}/api/docs/")
    docs.wait_for_selector(".swagger-ui .opblock-tag", timeout=10_000)
    assert "Sales dashboard API" in docs.locator(".swagger-ui .title").inner_text()
    docs.locator(".opblock-summary-path", has_text="/api/sales/metrics").first.click()
    docs.wait_for_selector(".opblock-body")
    screenshot(docs, "docs-offline")
    assert_clean(docs)

    admin = offline_page(browser, daphne_server, anonymous=True)
    admin.context.add_cookies(session_cookies(session_key=staff_session))
    for path in ("/admin/", "/admin/sales/sale/", "/admin/sales/sale/?store__id__exact=1", "/admin/login/"):
        admin.goto(f"{daphne_server.url}{path}")
        assert_clean(admin)
