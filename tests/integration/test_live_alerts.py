"""Live alerts end to end: an error spike, a bot surge and a traffic drop sent through a collector.

A shop collector (gunicorn, as the stack serves it) and the streaming application (spark-submit, as
the DAG submits it) run on the test's own topics, warehouse and Hive database. The test posts page
views minute by minute of event time, in order, as a browser would: a steady baseline, then
- minute 3: one page answers 5xx to most of its views (``error_rate``);
- minute 4: a crawler (its User-Agent says so; the collector flags it) makes most of the events
  (``bot_surge``);
- minute 6: almost no traffic against the five minutes before it (``traffic_drop``).

Each alert must appear exactly once in ``live_alerts``, exactly once on the alerts topic (keyed by
its alert id) and on the Live page, with the values the test computes from what it sent. Then the
application is killed (SIGKILL, after the batch that raised the alerts was committed) and started
again; the error spike and the bot surge go on within their 15-minute cooldown and a new latency
spike starts on another page: only the latency alert is new.

Not covered: a kill between a batch's alert write and its commit. That batch is replayed; the table
keeps one copy (batches are written exactly once), the topic may receive a record again with the
same alert id (docs/streaming.md).
"""

from __future__ import annotations

import dataclasses
import random
import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import requests
import streamlit as st

from bench.local_app import LocalApp
from clickstream.hive import execute
from clickstream.settings import get_settings, settings_env
from clickstream.streaming.alerts import AlertRules
from clickstream.topics import ensure_topics
from embedded.environment import VENV_BIN, stack_env
from embedded.polling import wait_for
from embedded.ports import free_ports
from embedded.streaming_app import processing
from simulators.generate import day_sessions
from simulators.journey import iso
from simulators.sites import SITES
from tests.support.apptest import render, shown
from tests.support.kafka import read_topic

SITE = "shop"
HUMAN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/131.0.0.0 Safari/537.36")
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
RULES = AlertRules()  # the application's defaults
BASELINE = 20         # human page views per page and minute, on each of three pages
ARGS = ("--trigger-seconds", "1", "--progress-flush-seconds", "1")


@dataclasses.dataclass
class Views:
    """Page views of one minute, on one page, sent in one request."""

    minute: int
    page: str
    n: int
    status: int = 200
    response_ms: int = 120
    agent: str = HUMAN


class Sender:
    """Posts page views to the collector, built from the simulator's own events of the site."""

    def __init__(self, url: str, start: datetime):
        self.url, self.start = url, start
        rng = random.Random("live-alerts")
        sessions = day_sessions(SITES[SITE], start.date(), 40, rng, malformed_share=0)
        self.templates = [e for s in sessions for e in s.events if e["event_type"] == "page_view"]
        self.pages = sorted({e["page"] for e in self.templates})[:3]
        self.sent: Counter = Counter()   # (minute, page, status, response_ms, bot) -> page views

    def send(self, *batches: Views) -> None:
        for v in batches:
            events = []
            for i in range(v.n):
                at = self.start + timedelta(minutes=v.minute, seconds=i * 50 / v.n)
                template = self.templates[i % len(self.templates)]
                events.append(template | {
                    "event_id": str(uuid.uuid4()), "event_time": iso(at), "sent_time": iso(at),
                    "page": v.page, "prev_page": None, "http_status": v.status,
                    "response_time_ms": v.response_ms})
            resp = requests.post(f"{self.url}/collect", data=orjson.dumps(events), timeout=30,
                                 headers={"Content-Type": "application/json", "User-Agent": v.agent})
            assert resp.status_code == 200 and resp.json()["accepted"] == v.n, resp.text
            self.sent[v.minute, v.page, v.status, v.response_ms, v.agent == CRAWLER] += v.n

    def baseline(self, minute: int) -> list[Views]:
        return [Views(minute, page, BASELINE) for page in self.pages]

    def views(self, minute: int, page: str | None = None, bots: bool | None = None, errors: bool = False,
              slow: bool = False) -> int:
        return sum(n for (m, p, status, ms, bot), n in self.sent.items()
                   if m == minute and page in (None, p) and bots in (None, bot)
                   and (not errors or status >= 500) and (not slow or ms >= RULES.p95_ms))


@pytest.fixture
def alert_stack(broker, hiveserver2, settings, tmp_path, monkeypatch):
    """Private topics, warehouse and database; a shop collector on them. Yields (settings, url)."""
    (port,) = free_ports(1)
    s = settings.replace(topic_events="alerts_e2e.events", topic_dlq="alerts_e2e.dlq",
        topic_alerts="alerts_e2e.alerts", hive_database="alerts_e2e",
        warehouse_uri=(tmp_path / "warehouse").as_uri(),
        sim_ports=tuple(port if site == SITE else p for site, p in zip(settings.sites, settings.sim_ports,
                                                                       strict=True)))
    ensure_topics(s)
    execute(s, "CREATE DATABASE IF NOT EXISTS alerts_e2e", database=None)
    log = tmp_path / "collector.log"
    with log.open("ab") as out:
        collector = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "8",
             f"simulators.wsgi:create_app(site={SITE!r})"],
            env=stack_env(s), cwd=s.repo_root, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(url), 60, 0.5, "the collector to answer")
        # The dashboard, in this process, reads the same names.
        for name, value in settings_env(s).items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        st.cache_data.clear()
        yield s, url
    finally:
        collector.terminate()
        collector.wait(30)
        monkeypatch.undo()
        get_settings.cache_clear()
        st.cache_data.clear()


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).ok
    except requests.ConnectionError:
        return False


def _alerts(s) -> list[tuple]:
    return execute(s, "SELECT alert_id, kind, subject, cast(window_start AS STRING), value, threshold, "
                      "batch_id FROM live_alerts ORDER BY window_start, kind")


def _committed(s, batch_id: int) -> bool:
    """Whether the application's query has committed this batch (its checkpoint's commit log)."""
    commits = Path(s.checkpoint_path("ingest").removeprefix("file://")) / "commits"
    return any(f.name.isdigit() and int(f.name) >= batch_id for f in commits.iterdir())


def test_each_alert_is_raised_once_through_the_collector_and_across_a_restart(alert_stack, tmp_path):
    s, url = alert_stack
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(minutes=12)   # minutes 0 … 10 of event time are all in the past
    sender = Sender(url, start)
    spiky, steady, crawled = sender.pages
    log = tmp_path / "app.log"
    app = LocalApp(s, *ARGS, log=log)
    try:
        wait_for(lambda: processing(s), 180, 1, "the streaming application to make progress")
        for minute in range(3):
            sender.send(*sender.baseline(minute))
        sender.send(*sender.baseline(3), Views(3, spiky, 30, status=503))
        sender.send(*sender.baseline(4), Views(4, crawled, 100, agent=CRAWLER))
        sender.send(*sender.baseline(5))
        sender.send(Views(6, steady, 3))
        sender.send(Views(7, steady, 5))   # minute 6 is complete once minute 7 has begun

        minute = {m: f"{start + timedelta(minutes=m):%Y-%m-%d %H:%M:%S}" for m in range(11)}
        spike = sender.views(3, spiky, errors=True) / sender.views(3, spiky)
        bots = sender.views(4, bots=True) / sender.views(4)
        baseline = sum(sender.views(m) for m in range(1, 6)) / RULES.baseline_minutes
        expected = [
            ("error_rate", spiky, minute[3], spike, RULES.error_rate),
            ("bot_surge", "*", minute[4], bots, RULES.bot_share),
            ("traffic_drop", "*", minute[6], sender.views(6), RULES.drop_ratio * baseline),
        ]
        first = wait_for(lambda: len(rows := _alerts(s)) >= 3 and rows, 120, 2, "three alerts")
        assert [(k, sub, at) for _, k, sub, at, *_ in first] == [e[:3] for e in expected]
        for (*_, value, threshold, _batch), (*_, want, want_threshold) in zip(first, expected, strict=True):
            assert value == pytest.approx(want, rel=1e-9) and threshold == pytest.approx(want_threshold)
        # Killed once the batch that raised them is committed: the restart must remember them.
        wait_for(lambda: _committed(s, max(r[-1] for r in first)), 60, 1, "the alerting batch's commit")
        app.kill()

        app = LocalApp(s, *ARGS, log=log)
        wait_for(lambda: processing(s), 180, 1, "the restarted application to make progress")
        sender.send(*sender.baseline(8), Views(8, spiky, 30, status=503),
                    Views(8, crawled, 100, agent=CRAWLER))
        sender.send(*sender.baseline(9), Views(9, steady, 25, response_ms=2400))
        sender.send(*sender.baseline(10))
        expected.append(("latency_p95", steady, minute[9], 2400.0, RULES.p95_ms))
        wait_for(lambda: len(_alerts(s)) >= 4, 120, 2, "the latency alert")
        # Everything sent is live (the spike and the surge went on after the restart) …
        wait_for(lambda: execute(s, "SELECT count(*) FROM live_metrics_latest WHERE dim = 'app' "
                                    f"AND window_start = '{minute[10]}'")[0][0] > 0,
                 120, 2, "minute 10 in the live metrics")
        rows = _alerts(s)
    finally:
        app.kill()
    # … and raised nothing again: four alerts, each once, in the table and on the topic.
    assert sorted((k, sub, at) for _, k, sub, at, *_ in rows) == sorted(e[:3] for e in expected)
    ids = {r[0] for r in rows}
    assert len(ids) == 4
    records = read_topic(s.kafka_bootstrap, s.topic_alerts)
    assert sorted(r["key"] for r in records) == sorted(ids)
    assert {(r["value"]["kind"], r["value"]["subject"]) for r in records} == {e[:2] for e in expected}

    # The Live page lists them, newest first.
    page = shown(render("live"), "alerts")
    listed = sorted(zip(page["kind"], page["subject"], page["minute"], strict=True))
    assert listed == sorted((k, sub, at) for k, sub, at, *_ in expected)
    assert set(page["app_id"]) == {SITE}
