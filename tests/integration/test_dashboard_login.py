"""The dashboard's login (production's: a password from a secret file), in headless Chromium.

The dashboard is started as production starts it, with CLICKSTREAM_DASHBOARD_PASSWORD_FILE naming a secret
file; no stack is needed: before the login no page runs and no data is read. The embedded runtime sets no
password and asks for none (every other dashboard test).
"""

from __future__ import annotations

import os
import re
import secrets
import time

import pytest

from bench.dashboard_pages import CHROMIUM
from embedded.ports import free_ports
from tests.support.serving import dashboard as serve_dashboard

PASSWORD = secrets.token_urlsafe(16)
REFRESH_MS = 2_000  # the Live page's refresh (dashboard/app_pages/live.py, REFRESH_S)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    secret = tmp_path_factory.mktemp("secrets") / "dashboard_password"
    secret.write_text(PASSWORD + "\n")
    (port,) = free_ports(1)
    with serve_dashboard(port, {**os.environ, "CLICKSTREAM_DASHBOARD_PASSWORD_FILE": str(secret)}) as base:
        yield base


def test_no_page_before_the_password_and_every_page_after(dashboard):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            # A page's own address shows the login, not the page: nothing runs before it.
            page.goto(f"{dashboard}/pipeline")
            password = page.get_by_label("Password", exact=True)
            expect(password).to_be_visible(timeout=60_000)
            expect(page.get_by_role("link", name="Daily report")).to_have_count(0)
            expect(page.get_by_text("Pipeline health")).to_have_count(0)

            password.fill("not-the-password")
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_text("Wrong password.")).to_be_visible(timeout=30_000)
            expect(page.get_by_role("link", name="Daily report")).to_have_count(0)

            log_in(page, expect)
            # A second browser session starts logged out; logging out ends this one.
            other = browser.new_page()
            other.goto(dashboard)
            expect(other.get_by_label("Password", exact=True)).to_be_visible(timeout=60_000)
            log_out(page, expect)
        finally:
            browser.close()


def log_in(page, expect) -> None:
    """Give the password; the Live page runs (no stack here: it says why the live store cannot be read)."""
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Daily report")).to_be_visible(timeout=60_000)
    expect(page.get_by_label("Password", exact=True)).to_have_count(0)
    expect(live_page(page)).to_be_visible(timeout=60_000)


def log_out(page, expect) -> None:
    """Log out: the form comes, and the Live page's refresh does not draw over it.

    What is checked is that something does not happen, so it is watched for two refresh periods. (In CI on
    2026-12-07 a log-out just before a refresh let the refresh draw the page over the form: the form's run
    ended in `st.stop()`, which keeps the page's fragment. A probe logging out at ten phases of the period
    hit it once in ten; the test does not sweep phases, it would cost 40 s for a race it rarely hits.)
    """
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Password", exact=True)).to_be_visible(timeout=30_000)
    deadline = time.monotonic() + 2 * REFRESH_MS / 1000
    while time.monotonic() < deadline:
        expect(live_page(page)).to_have_count(0)
        expect(page.get_by_label("Password", exact=True)).to_be_visible()
        page.wait_for_timeout(100)


def live_page(page):
    return page.get_by_text(re.compile("the live store"))
