"""Durability of the real broker and connector: a stack stop, and the broker killed for 30 s, under load.

Each test runs a private embedded stack (Apache Kafka and the three collectors on free ports, its own
data directory, warehouse and Hive database) with the streaming application submitted as the DAG
submits it, and a client that posts events through the collectors the way the simulated users do:
a 503 is retried with backoff until the collector takes the batch. What the collectors accepted
(answered 200) is compared, event id by event id, with raw_events read through HiveServer2. A last test
wipes the broker's log and checks that the application refuses to skip what was lost, saying what to do.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow.dataset as ds
import pytest
import requests

from clickstream.embedded.ports import private_ports
from clickstream.embedded.stack import Stack
from clickstream.hive import execute
from clickstream.streaming.kafka_offsets import TOPIC_READERS
from clickstream.streaming.local import LocalApp, processed_rows, wait_for
from simulators.generate import day_sessions
from simulators.sites import SITES

pytestmark = pytest.mark.integration

RATE = 400  # events a second through the three collectors
BATCH = 20
ARGS = ("--trigger-seconds", "1", "--ingest-trigger-seconds", "1", "--progress-flush-seconds", "1")


class Client(threading.Thread):
    """Posts batches to the collectors at RATE, retrying 503s with backoff; records what was accepted."""

    def __init__(self, urls: dict[str, str]):
        super().__init__(daemon=True)
        self.urls = urls
        self.stop = threading.Event()
        self.accepted: set[str] = set()
        self.unavailable = 0      # 503 answers
        self.unreachable = 0      # connection refused (collector stopped)
        self.other: list[str] = []
        day = datetime.now(UTC).date() - timedelta(days=1)
        self.pools = {site: [e for b in day_sessions(SITES[site], day, 3_000, random.Random(site),
                                                     malformed_share=0) for e in b.events]
                      for site in urls}

    def batches(self):
        """Yield (site, events) forever, each pass over a site's pool with new event ids."""
        n = 0
        while True:
            for site, pool in self.pools.items():
                start = (n * BATCH) % len(pool)
                events = [e | {"event_id": f"{e['event_id'][:-8]}{n:08x}"} for e in pool[start:start + BATCH]]
                yield site, events
            n += 1

    def run(self) -> None:
        session = requests.Session()
        began = time.monotonic()
        for i, (site, events) in enumerate(self.batches()):
            if self.stop.is_set():
                return
            time.sleep(max(0.0, began + i * BATCH / RATE - time.monotonic()))
            backoff = 0.2
            while not self.stop.is_set():
                try:
                    resp = session.post(f"{self.urls[site]}/collect", data=orjson.dumps(events), timeout=10,
                                        headers={"Content-Type": "application/json"})
                except requests.ConnectionError:
                    self.unreachable += 1
                    break  # the collector is gone (stack stopping): this batch was not accepted
                if resp.status_code == 200:
                    assert resp.json()["rejected"] == 0, resp.text
                    self.accepted.update(e["event_id"] for e in events)
                    break
                if resp.status_code == 503:
                    self.unavailable += 1
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                self.other.append(f"{resp.status_code} {resp.text[:200]}")
                break


@pytest.fixture
def private(settings, hiveserver2, tmp_path):
    """A second embedded stack: broker and collectors on free ports, its own warehouse and Hive database."""
    ports = private_ports()
    database = f"durability_{tmp_path.name[-12:].lower().replace('-', '_')}"
    broker = int(ports["CLICKSTREAM_BROKER_PORT"])
    s = dataclasses.replace(
        settings, data_dir=tmp_path / "data", warehouse_uri=(tmp_path / "warehouse").as_uri(),
        broker_port=broker, kafka_bootstrap=f"127.0.0.1:{broker}",
        kafka_controller_port=int(ports["CLICKSTREAM_KAFKA_CONTROLLER_PORT"]),
        sim_ports=tuple(int(p) for p in ports["CLICKSTREAM_SIM_PORTS"].split(",")),
        hive_database=database)  # fmt: skip
    execute(s, f"CREATE DATABASE IF NOT EXISTS {database}", database=None)
    stack = Stack(s)
    yield stack
    stack.down()


def sites_of(stack: Stack) -> list[str]:
    return [f"site-{site}" for site in stack.settings.sites]


def archived_ids(settings) -> list[str]:
    """Return the event ids raw_events holds, read from its files (no Hive needed)."""
    path = Path(settings.table_path("raw_events").removeprefix("file://"))
    if not path.exists():
        return []
    return ds.dataset(path, format="parquet", partitioning="hive").to_table(columns=["event_id"]) \
        .column("event_id").to_pylist()


def assert_archived_exactly_once(settings, accepted: set[str]) -> None:
    rows = [r[0] for r in execute(settings, "SELECT event_id FROM raw_events")]
    assert len(rows) == len(set(rows)), "an event was archived twice"
    assert set(rows) == accepted


def under_load(private: Stack, log: Path) -> tuple[LocalApp, Client]:
    """Start the broker, the collectors, the application and the client; return once 2,000 are archived."""
    s = private.settings
    private.up(sites_of(private))
    app = LocalApp(s, *ARGS, log=log)
    client = Client({site: f"http://127.0.0.1:{port}" for site, port in s.sites.items()})
    client.start()
    try:
        wait_for(lambda: processed_rows(s)["ingest"] >= 2_000, 300, 1, "2,000 events archived")
    except BaseException:
        client.stop.set()
        app.kill()
        raise
    return app, client


def test_events_accepted_before_make_stop_are_archived_once_after_make_run(private, tmp_path):
    s = private.settings
    app, client = under_load(private, tmp_path / "app.log")
    try:
        # `make stop` while events flow: collectors flush what they accepted, then the broker stops.
        app.kill()
        assert private.down() == []
    finally:
        client.stop.set()
        client.join(30)
    before = set(archived_ids(s))
    assert before < client.accepted, "every accepted event was archived before the stop: nothing was tested"
    waiting = len(client.accepted - before)

    # `make run`: the broker comes back with its log, the application carries on from its checkpoint.
    private.up(sites_of(private))
    app = LocalApp(s, *ARGS, log=tmp_path / "app.log")
    try:
        wait_for(lambda: len(archived_ids(s)) >= len(client.accepted), 300, 2,
                 f"the {waiting} events accepted before the stop archived")
    finally:
        app.kill()
    assert client.other == []
    assert_archived_exactly_once(s, client.accepted)
    assert "data loss" not in (tmp_path / "app.log").read_text().lower()


def test_broker_killed_for_30_seconds_under_load(private, tmp_path):
    s = private.settings
    app, client = under_load(private, tmp_path / "app.log")
    try:
        (broker,) = private.status(["broker"])
        rpc = private._rpc()
        # SIGKILL with no chance of a clean shutdown: frozen first, so supervisord's stop request (which
        # keeps it from restarting the broker at once) never runs Kafka's shutdown hook.
        os.kill(broker.pid, signal.SIGSTOP)
        rpc.stopProcess("broker", False)
        os.kill(broker.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        refused_before = client.unavailable
        accepted_before = len(client.accepted)
        time.sleep(30)
        assert client.unavailable > refused_before, "the collectors kept answering 200 with the broker down"
        private.up(["broker"])
        down_for = time.monotonic() - killed_at
        wait_for(lambda: len(client.accepted) > accepted_before + 2 * RATE, 120, 1,
                 "the collectors accepting events again")
        time.sleep(10)
    finally:
        client.stop.set()
        client.join(30)
    try:
        wait_for(lambda: len(archived_ids(s)) >= len(client.accepted), 300, 2,
                 "every accepted event archived")
        # The same application process read on through the outage: no operator, no restart.
        assert app.running(), (tmp_path / "app.log").read_text()[-3000:]
    finally:
        app.kill()
    assert down_for >= 30 and client.other == []
    assert_archived_exactly_once(s, client.accepted)


def produce(settings, events: list[dict]) -> None:
    """Write enriched events straight to the events topic, as the collectors would."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 20})
    for event in events:
        producer.produce(settings.topic_events, orjson.dumps(event), event["session_id"].encode())
    assert producer.flush(30) == 0


def test_a_reset_broker_stops_the_application_naming_the_loss_and_the_remedy(private, tmp_path):
    from simulators.load import site_events

    s = private.settings
    log = tmp_path / "app.log"
    events = list(site_events(datetime.now(UTC).date() - timedelta(days=1), 600, "reset"))
    before, after = events[:400], events[400:]
    private.up(["broker"])
    produce(s, before)
    assert LocalApp(s, "--mode", "available-now", log=log).wait(600) == 0, log.read_text()[-3000:]

    # The broker's log is wiped while the stack is stopped; the next start formats a new one.
    assert private.down() == []
    shutil.rmtree(s.data_dir / "kafka")
    private.up(["broker"])
    produce(s, after)
    refused = LocalApp(s, "--mode", "available-now", log=tmp_path / "refused.log")
    assert refused.wait(300) != 0
    said = (tmp_path / "refused.log").read_text()
    checkpoints = [s.checkpoint_path(name) for name in TOPIC_READERS]
    assert "the broker's log ends at" in said and "The broker's log was reset" in said
    assert f"delete the checkpoints {checkpoints[0]} and {checkpoints[1]}" in said
    assert archived_ids(s) and set(archived_ids(s)) == {e["event_id"] for e in before}  # nothing skipped

    # The remedy it names: the new log is read from its start, and nothing is archived twice.
    for location in checkpoints:
        shutil.rmtree(location.removeprefix("file://"))
    assert LocalApp(s, "--mode", "available-now", log=log).wait(600) == 0, log.read_text()[-3000:]
    assert_archived_exactly_once(s, {e["event_id"] for e in events})
