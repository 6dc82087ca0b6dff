"""The login page in real Chromium: an anonymous visitor is sent there, signs in, and lands on
the dashboard it asked for; a wrong password says so."""

from __future__ import annotations

import pytest

from core.testing import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-passphrase-1"


@pytest.fixture
def ana(db):
    from core.services import user_in_group_ensure

    return user_in_group_ensure(username="ana", group="viewer", password=PASSWORD)


def sign_in(page, *, password: str) -> None:
    page.fill("#id_username", "ana")
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def test_an_anonymous_visitor_signs_in_and_lands_on_the_dashboard(sample_sales, ana, daphne_server, browser):
    page = browser.page(anonymous=True)
    page.goto(f"{daphne_server.url}/?range=all")
    assert page.url == f"{daphne_server.url}/login/?next=/%3Frange%3Dall"
    screenshot(page, "login-desktop-light")
    sign_in(page, password="wrong")
    assert "correct username and password" in page.locator(".login__error").inner_text()
    sign_in(page, password=PASSWORD)
    page.wait_for_selector("html[data-ready=true]", timeout=10_000)
    assert page.url == f"{daphne_server.url}/?range=all"
    page.wait_for_selector('#connection[data-status="live"]', timeout=10_000)  # the stream takes the session
    assert page.locator(".signout__user").inner_text() == "ana"
    # The browser logs every non-2xx fetch: the predictions 404 of "no forecast yet" is by contract.
    assert [e for e in page.errors if "/api/sales/predictions" not in e] == []
    page.click(".signout__button")
    page.wait_for_url(f"{daphne_server.url}/login/")
    for width, height, scheme, name in [
        (1280, 800, "dark", "login-desktop-dark"),
        (390, 844, "light", "login-phone-light"),
        (390, 844, "dark", "login-phone-dark"),
    ]:
        other = browser.page(width=width, height=height, scheme=scheme, anonymous=True)
        other.goto(f"{daphne_server.url}/login/")
        screenshot(other, name)
        assert other.errors == []
        other.context.close()
