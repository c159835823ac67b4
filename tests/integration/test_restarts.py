"""Restarts as users live them: `make run`, `make stop`, `make run` again, three times, on a private data dir.

- On the fresh stack (the batch DAGs have created no table yet) every dashboard page, in headless
  Chromium, shows its content or a one-line message saying what to do; never a traceback.
- Each `make stop` stops the streaming application gracefully: its Airflow task ends as a success
  in its first try (no retry consumed, no failure email, no alert), and no process is left.
- Each `make run` returns with the streaming application running (`make status` has its line), and
  events sent through the three collectors right after are in raw_events within 60 s, exactly once.
- After the first cycle every page renders again, on the running stack.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import requests

from clickstream.embedded.ports import private_ports
from tests.integration.stack_helpers import Airflow, cmdline, hive, make, processes_using

pytestmark = pytest.mark.integration

CYCLES = 3
ARRIVE_WITHIN_S = 60
PAGES = ("live", "traffic", "sections", "navigation", "geography", "performance", "sessions", "pipeline")
CONTENT = ('[data-testid="stVegaLiteChart"], [data-testid="stPlotlyChart"], [data-testid="stMetric"], '
           '[data-testid="stDeckGlJsonChart"], [data-testid="stDataFrame"]')
MESSAGE = '[data-testid="stAlert"]'


def render_every_page(dashboard: str) -> dict[str, str]:
    """Open each page in headless Chromium; return what each shows ("content" or its first message)."""
    from playwright.sync_api import sync_playwright

    shown = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name in PAGES:
                page.goto(f"{dashboard}/{'' if name == 'live' else name}")
                page.wait_for_selector(f"{CONTENT}, {MESSAGE}", timeout=120_000)
                page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
                exceptions = page.locator('[data-testid="stException"]')
                assert exceptions.count() == 0, (name, exceptions.first.inner_text())
                assert "Traceback" not in page.inner_text("body"), name
                if page.locator(CONTENT).count():
                    shown[name] = "content"
                else:
                    message = page.locator(MESSAGE).first.inner_text().strip()
                    assert len(message.splitlines()) == 1, (name, message)
                    shown[name] = message
        finally:
            browser.close()
    return shown


def send_events(sites: list[str]) -> set[str]:
    """Post a batch of valid events with fresh ids through each collector; return the ids accepted."""
    import random

    from simulators.generate import day_sessions
    from simulators.sites import SITES

    ids = set()
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    for url, site in zip(sites, SITES, strict=True):
        sessions = day_sessions(SITES[site], datetime.now(UTC).date(), 20, random.Random(site),
                                malformed_share=0)
        events = [e | {"event_id": str(uuid.uuid4()), "event_time": now, "sent_time": now}
                  for s in sessions for e in s.events][:40]
        resp = requests.post(f"{url}/collect", data=orjson.dumps(events), timeout=30,
                             headers={"Content-Type": "application/json"})
        assert resp.status_code == 200, resp.text
        ids |= {e["event_id"] for e in events}
    return ids


def archived(hive_port: int, ids: set[str]) -> dict[str, int]:
    """How many times each of these event ids is in raw_events."""
    listed = ", ".join(f"'{i}'" for i in sorted(ids))
    return dict(hive(hive_port, "SELECT event_id, COUNT(*) FROM raw_events "
                                f"WHERE dt >= '{datetime.now(UTC):%Y-%m-%d}' AND event_id IN ({listed}) "
                                "GROUP BY event_id"))


def test_three_stop_and_run_cycles():
    data_dir = Path(tempfile.mkdtemp(prefix="cs-restarts-"))
    data_dir.chmod(0o755)
    ports = private_ports()
    env = {**os.environ, "CLICKSTREAM_DATA_DIR": str(data_dir), **ports}
    hive_port = int(ports["CLICKSTREAM_HIVE_PORT"])
    sites = [f"http://127.0.0.1:{p}" for p in ports["CLICKSTREAM_SIM_PORTS"].split(",")]
    dashboard = f"http://127.0.0.1:{ports['CLICKSTREAM_STREAMLIT_PORT']}"
    base = f"http://127.0.0.1:{ports['CLICKSTREAM_AIRFLOW_PORT']}"
    timings = []
    try:
        first = make("run", env)
        assert first.returncode == 0, first.stdout + first.stderr
        password = re.search(r"Airflow login: admin / (\S+)", first.stdout).group(1)
        fresh = render_every_page(dashboard)
        # The batch DAGs have not run: the history pages say which table is missing and what creates it.
        assert "the batch DAGs create it in their first run" in fresh["traffic"], fresh

        for cycle in range(1, CYCLES + 1):
            t0 = time.monotonic()
            stop = make("stop", env, timeout=300)
            stopped = time.monotonic() - t0
            assert stop.returncode == 0, stop.stdout + stop.stderr
            assert "no process left" in stop.stdout
            assert processes_using(data_dir) == [], [cmdline(p) for p in processes_using(data_dir)]

            t0 = time.monotonic()
            run = make("run", env)
            started = time.monotonic() - t0
            assert run.returncode == 0, run.stdout + run.stderr
            status = make("status", env, timeout=60)
            assert status.returncode == 0, status.stdout
            assert re.search(r"streaming-app\s+RUNNING\s+healthy\s+pid \d+\s+local-\d+", status.stdout)

            ids = send_events(sites)
            t0 = time.monotonic()
            seen: dict[str, int] = {}
            while time.monotonic() - t0 < ARRIVE_WITHIN_S and set(seen) != ids:
                time.sleep(3)
                seen = archived(hive_port, ids)
            assert set(seen) == ids, f"cycle {cycle}: {len(ids) - len(seen)} events not in raw_events"
            arrived = time.monotonic() - t0
            time.sleep(10)  # one more ingest batch: nothing is archived twice
            assert set(archived(hive_port, ids).values()) == {1}, f"cycle {cycle}: duplicates"
            timings.append((cycle, round(stopped), round(started), round(arrived)))
            if cycle == 1:
                again = render_every_page(dashboard)
                assert again["live"] == "content", again

        # Every stop ended the streaming task as a success in its first try; no failure was alerted.
        airflow = Airflow(base, password)
        runs = airflow.get("dags/clickstream_streaming/dagRuns", order_by="run_after", limit=20)["dag_runs"]
        assert [r["state"] for r in runs] == ["success"] * CYCLES + ["running"], runs
        for r in runs[:-1]:
            ti = airflow.get(f"dags/clickstream_streaming/dagRuns/{r['dag_run_id']}/taskInstances/"
                             "run_streaming_app")
            assert (ti["state"], ti["try_number"]) == ("success", 1), ti
        inbox = data_dir / "mail" / "new"
        failures = [p.name for p in inbox.iterdir()] if inbox.exists() else []
        assert not [n for n in failures if "clickstream_streaming" in (inbox / n).read_text(errors="replace")]
        print("cycle, make stop s, make run s, events in raw_events s:", timings)
    finally:
        stop = make("stop", env, timeout=300)
        assert stop.returncode == 0, stop.stdout + stop.stderr
        shutil.rmtree(data_dir, ignore_errors=True)
