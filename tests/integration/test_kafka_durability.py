"""Durability of the real broker and connector: the broker killed for 30 s under load, and its log reset.

Each test runs a private embedded stack (Apache Kafka and the three collectors on free ports, its own
data directory, warehouse and Hive database) with the streaming application submitted as the DAG
submits it, and a client that posts events through the collectors the way the simulated users do:
a 503 is retried with backoff until the collector takes the batch. What the collectors accepted
(answered 200) is compared, event id by event id, with raw_events read through HiveServer2. A last test
wipes the broker's log and checks that the application refuses to skip what was lost, saying what to do.
Events accepted before `make stop`, archived after the next `make run`: tests/support/restarts.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from bench.local_app import LocalApp
from clickstream.hive import execute
from clickstream.streaming.kafka_offsets import TOPIC_READERS
from clickstream.streaming.monitor import processed_rows
from embedded.polling import wait_for
from embedded.ports import private_ports
from embedded.stack import Stack
from tests.support.kafka import produce_events
from tests.support.stack import Client, archived_ids

RATE = 400  # events a second through the three collectors
ARGS = ("--trigger-seconds", "1", "--progress-flush-seconds", "1")


@pytest.fixture
def private(settings, hiveserver2, tmp_path):
    """A second embedded stack: broker and collectors on free ports, its own warehouse and Hive database."""
    ports = private_ports()
    database = f"durability_{tmp_path.name[-12:].lower().replace('-', '_')}"
    broker = int(ports["CLICKSTREAM_BROKER_PORT"])
    s = settings.replace(data_dir=tmp_path / "data", warehouse_uri=(tmp_path / "warehouse").as_uri(),
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


def assert_archived_exactly_once(settings, accepted: set[str]) -> None:
    rows = [r[0] for r in execute(settings, "SELECT event_id FROM raw_events")]
    assert len(rows) == len(set(rows)), "an event was archived twice"
    assert set(rows) == accepted


def under_load(private: Stack, log: Path) -> tuple[LocalApp, Client]:
    """Start the broker, the collectors, the application and the client; return once 2,000 are archived."""
    s = private.settings
    private.up(sites_of(private))
    app = LocalApp(s, *ARGS, log=log)
    client = Client({site: f"http://127.0.0.1:{port}" for site, port in s.sites.items()}, RATE)
    client.start()
    try:
        wait_for(lambda: processed_rows(s)["ingest"] >= 2_000, 300, 1, "2,000 events archived")
    except BaseException:
        client.stop.set()
        app.kill()
        raise
    return app, client


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


def test_a_reset_broker_stops_the_application_naming_the_loss_and_the_remedy(private, tmp_path):
    from bench.load import settled_day, site_events

    s = private.settings
    log = tmp_path / "app.log"
    events = list(site_events(settled_day(), 600, "reset"))
    before, after = events[:400], events[400:]
    private.up(["broker"])
    produce_events(s, before)
    assert LocalApp(s, "--mode", "available-now", log=log).wait(600) == 0, log.read_text()[-3000:]

    # The broker's log is wiped while the stack is stopped; the next start formats a new one.
    assert private.down() == []
    shutil.rmtree(s.data_dir / "kafka")
    private.up(["broker"])
    produce_events(s, after)
    refused = LocalApp(s, "--mode", "available-now", log=tmp_path / "refused.log")
    assert refused.wait(300) != 0
    said = (tmp_path / "refused.log").read_text()
    checkpoints = [s.checkpoint_path(name) for name in TOPIC_READERS]
    assert "the broker's log ends at" in said and "The broker's log was reset" in said
    assert f"delete the checkpoint {' and '.join(checkpoints)} while" in said
    assert archived_ids(s) and set(archived_ids(s)) == {e["event_id"] for e in before}  # nothing skipped

    # The remedy it names: the new log is read from its start, and nothing is archived twice.
    for location in checkpoints:
        shutil.rmtree(location.removeprefix("file://"))
    assert LocalApp(s, "--mode", "available-now", log=log).wait(600) == 0, log.read_text()[-3000:]
    assert_archived_exactly_once(s, {e["event_id"] for e in events})
