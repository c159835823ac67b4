"""Restarts as users live them: `make stop`, `make run` again, three times (test_restarts.py runs it).

- On the fresh stack (the batch DAGs have created no table yet) every dashboard page, in headless
  Chromium, shows its content or a one-line message saying what to do; never a traceback.
- Each `make stop` stops the streaming application gracefully: its Airflow task ends as a success
  in its first try (no retry consumed, no failure email, no alert), and no process is left.
- Each `make run` returns with the streaming application running (`make status` has its line), and
  events sent through the three collectors right after are in raw_events within 60 s, exactly once.
- After the first cycle every page renders again, on the running stack.
- A client posts events through the collectors across all three cycles (a batch refused while the
  stack is down is not accepted): what was accepted but not archived at each stop is archived after
  the next `make run`, and in the end every accepted event is in raw_events exactly once, and no
  event at all is there twice.
"""

from __future__ import annotations

import email
import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import requests

from bench.dashboard_pages import CHROMIUM
from clickstream.settings import get_settings
from embedded.polling import wait_for
from simulators.sites import SITES
from tests.support.stack import (
    Airflow,
    Client,
    archived_ids,
    cmdline,
    hive,
    make,
    processes_using,
)

CYCLES = 3
CLIENT_RATE = 100  # events a second through the three collectors, besides the simulated users
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
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
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
                    # The alert's text (its icon is a ligature: "hourglass_empty").
                    message = page.locator(f'{MESSAGE} [data-testid="stMarkdownContainer"]').first \
                        .inner_text().strip()
                    assert len(message.splitlines()) == 1, (name, message)
                    shown[name] = message
        finally:
            browser.close()
    return shown


def send_events(sites: list[str]) -> set[str]:
    """Post a batch of valid events with fresh ids through each collector; return the ids accepted."""
    import random

    from simulators.generate import day_sessions

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


def restart_cycles(env: dict[str, str], data_dir: Path, airflow: Airflow, cycles: int = CYCLES) -> list:
    """Stop and start the stack `cycles` times under a client's load, checking each; return the timings."""
    ports = {k: v for k, v in env.items() if k.startswith("CLICKSTREAM_")}
    hive_port = int(ports["CLICKSTREAM_HIVE_PORT"])
    sites = [f"http://127.0.0.1:{p}" for p in ports["CLICKSTREAM_SIM_PORTS"].split(",")]
    dashboard = f"http://127.0.0.1:{ports['CLICKSTREAM_STREAMLIT_PORT']}"
    raw = get_settings().replace(warehouse_uri=(data_dir / "warehouse").as_uri())
    client = Client(dict(zip(SITES, sites, strict=True)), CLIENT_RATE)
    timings, waiting_at_stop = [], []
    before = airflow.get("dags/clickstream_streaming/dagRuns", order_by="run_after", limit=50)["dag_runs"]
    client.start()  # users of the sites, across the restarts: a refused batch is not accepted
    try:
        for cycle in range(1, cycles + 1):
            time.sleep(5)
            t0 = time.monotonic()
            stop = make("stop", env, timeout=300)
            stopped = time.monotonic() - t0
            assert stop.returncode == 0, stop.stdout + stop.stderr
            assert "no process left" in stop.stdout
            assert processes_using(data_dir) == [], [cmdline(p) for p in processes_using(data_dir)]
            # Accepted by the collectors, in the broker's log, not archived yet: the next run's work.
            waiting_at_stop.append(len(client.accepted - set(archived_ids(raw))))

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
            assert set(seen.values()) == {1}, f"cycle {cycle}: an event archived twice"
            timings.append((cycle, round(stopped), round(started), round(time.monotonic() - t0)))
            if cycle == 1:
                again = render_every_page(dashboard)
                assert again["live"] == "content", again
    finally:
        client.stop.set()
        client.join(30)
    assert client.other == [] and client.unreachable > 0  # the client did meet the stopped stack
    assert max(waiting_at_stop) > 0, "every accepted event was archived before each stop: nothing tested"

    # Everything the collectors accepted is archived exactly once; nothing at all twice.
    def all_archived():
        counts = Counter(archived_ids(raw))
        return counts if client.accepted <= set(counts) else None

    counts = wait_for(all_archived, 180, 3, f"the {len(client.accepted)} accepted events archived")
    assert max(counts.values()) == 1, [i for i, n in counts.items() if n > 1][:5]

    # Every stop ended the streaming task as a success in its first try; no failure was alerted.
    runs = airflow.get("dags/clickstream_streaming/dagRuns", order_by="run_after", limit=50)["dag_runs"]
    assert [r["state"] for r in runs[len(before) - 1:]] == ["success"] * cycles + ["running"], runs
    for r in runs[len(before) - 1:-1]:
        ti = airflow.get(f"dags/clickstream_streaming/dagRuns/{r['dag_run_id']}/taskInstances/"
                         "run_streaming_app")
        assert (ti["state"], ti["try_number"]) == ("success", 1), ti
    inbox = data_dir / "mail" / "new"
    subjects = [email.message_from_bytes(m.read_bytes())["Subject"] for m in inbox.iterdir()]
    assert not [s for s in subjects if "clickstream_streaming" in s], subjects
    print("cycle, make stop s, make run s, probe events in raw_events s:", timings,
          "; accepted events waiting at each stop:", waiting_at_stop)
    return timings
