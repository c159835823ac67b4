"""The dashboard served by `streamlit run`, opened page by page in headless Chromium (Playwright).

Each page must draw its charts without an error or exception box; a screenshot of each page
(light theme, and dark for two of them) goes to artifacts/screenshots/ (CLICKSTREAM_ARTIFACTS
overrides the directory). README's screenshots are copies of these.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from clickstream.settings import REPO_ROOT
from embedded.environment import VENV_BIN
from embedded.ports import free_ports

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
PAGES = ("live", "traffic", "sections", "navigation", "geography", "performance", "sessions", "pipeline")
DARK = ("live", "navigation")
CHART = ('[data-testid="stVegaLiteChart"], [data-testid="stPlotlyChart"], '
         '[data-testid="stDeckGlJsonChart"]')


@pytest.fixture(scope="module")
def dashboard(built_day):
    (port,) = free_ports(1)
    proc = subprocess.Popen(
        [str(VENV_BIN / "streamlit"), "run", str(REPO_ROOT / "dashboard" / "streamlit_app.py"),
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        env=os.environ.copy(), cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/_stcore/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(20)


def test_every_page_draws_its_charts_in_chromium(dashboard):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("CLICKSTREAM_ARTIFACTS", REPO_ROOT / "artifacts")) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": 1400, "height": 1000}, color_scheme=scheme)
                for name in PAGES if scheme == "light" else DARK:
                    page.goto(f"{dashboard}/{'' if name == 'live' else name}")
                    page.wait_for_selector(CHART, timeout=60_000)
                    # Streamlit shows its running indicator until the script (and its queries) finish.
                    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
                    assert page.locator('[data-testid="stException"]').count() == 0, name
                    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, name
                    assert page.locator(CHART).count() > 0, name
                    page.screenshot(path=shots / f"{name}-{scheme}.png", full_page=True)
                page.close()
        finally:
            browser.close()
    assert {f"{n}-light.png" for n in PAGES} <= {f.name for f in shots.iterdir()}
