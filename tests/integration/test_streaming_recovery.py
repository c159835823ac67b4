"""Crash recovery: kill -9 the streaming application twice while events flow at 1,700/s. (A batch failing
between its writes: tests/integration/test_streaming_upgrade.py.)

After the restarts, raw_events (through HiveServer2) holds exactly the event
ids the broker acknowledged — none lost, none twice, although 1 % of them were
sent twice — and every closed window of the live metrics equals a batch
recomputation over raw_events. The live partitions are compacted every few batches
here (``MAX_FILES``), so the kills may also land around compactions: the live tables read
through the metastore stay exact, and no live partition holds more than its bound.
The test runs on its own topic, warehouse and Hive database, so other tests' events
do not mix in.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from confluent_kafka import Producer

from bench.load import retimed, site_events
from bench.local_app import LocalApp
from clickstream.hive import execute
from clickstream.streaming.compaction import current_local_dir
from clickstream.streaming.monitor import processed_rows
from clickstream.topics import ensure_topics
from embedded.polling import wait_for
from tests.support.streaming_checks import live_metrics_equal_a_recomputation

POOL, RATE, SPEED = 30_000, 1_700, 3.0
LEAD = timedelta(minutes=10)   # event time starts this far back and runs three times as fast as the clock
MOST = int(LEAD.total_seconds() / (SPEED - 1) * RATE)   # sent before event time would pass the clock
# Event time the sender covers at least, so that three live windows are closed whatever the machine's pace.
SPAN = timedelta(minutes=5)
MAX_FILES = 2  # a live partition's files before it is compacted (make run: 100); each run makes 1-2 batches


def endless(pool: list[dict]) -> Iterator[dict]:
    """Cycle through a pool of events, giving each pass its own event ids."""
    for n in itertools.count():
        for event in pool:
            yield event if n == 0 else event | {"event_id": str(uuid.uuid5(uuid.NAMESPACE_OID,
                                                                            f"{event['event_id']}/{n}"))}


class Sender(threading.Thread):
    """Produces events at a steady rate until stopped, 1 % of them twice; records what was acknowledged."""

    def __init__(self, bootstrap: str, topic: str, events: Iterator[dict]):
        super().__init__(daemon=True)
        self.topic, self.events = topic, events
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 10})
        self.stop = threading.Event()
        self.sent: set[str] = set()
        self.acked: set[str] = set()
        self.failed: list[str] = []

    def _delivered(self, err, msg) -> None:
        if err is None:
            self.acked.add(orjson.loads(msg.value())["event_id"])
        else:
            self.failed.append(str(err))

    def run(self) -> None:
        start = time.monotonic()
        for i, event in enumerate(itertools.islice(self.events, MOST)):
            if i % 200 == 0:
                if self.stop.is_set():
                    break
                time.sleep(max(0.0, start + i / RATE - time.monotonic()))
            value = orjson.dumps(event)
            self.sent.add(event["event_id"])
            for _ in range(2 if i % 100 == 7 else 1):
                self.producer.produce(self.topic, key=event["session_id"].encode(), value=value,
                                      on_delivery=self._delivered)
            self.producer.poll(0)
        self.producer.flush(60)


def test_kill_9_twice_loses_and_duplicates_nothing(broker, hiveserver2, settings, tmp_path):
    s = settings.replace(topic_events="recovery.events", warehouse_uri=(tmp_path / "warehouse").as_uri(),
                         hive_database="recovery", live_partition_max_files=MAX_FILES)
    ensure_topics(s)
    execute(s, "CREATE DATABASE IF NOT EXISTS recovery", database=None)
    now = datetime.now(UTC)
    pool = list(site_events(now.date(), POOL, "recovery"))
    events = retimed(endless(pool), now - LEAD, RATE, speed=SPEED, received_start=now)
    sender = Sender(s.kafka_bootstrap, s.topic_events, events)
    args = ("--trigger-seconds", "1", "--progress-flush-seconds", "1",
            "--max-offsets-per-trigger", "20000")
    log = tmp_path / "app.log"
    app = LocalApp(s, *args, log=log)
    sender.start()
    try:
        for kill in range(2):
            # Each run must have archived 8,000 events (and written their live partials) before it dies.
            before = processed_rows(s)
            wait_for(lambda before=before: processed_rows(s)["ingest"] - before["ingest"] >= 8_000, 300, 1,
                     "8,000 more events archived")
            assert sender.is_alive(), f"events must still be flowing at kill {kill + 1}"
            app.kill()
            app = LocalApp(s, *args, log=log)
        # The third run takes over while events still flow, then the sender stops.
        before = processed_rows(s)
        wait_for(lambda: processed_rows(s)["ingest"] - before["ingest"] >= 5_000, 300, 1,
                 "5,000 more events archived after the second restart")
        wait_for(lambda: len(sender.sent) >= SPAN.total_seconds() / SPEED * RATE, 300, 1,
                 f"{SPAN} of event time sent")
        assert sender.is_alive(), "events must still be flowing after the second restart"
        sender.stop.set()
        sender.join(120)
        assert not sender.is_alive() and sender.failed == []
    finally:
        app.kill()
    # Let a last run finish whatever the topic holds, and stop.
    final = LocalApp(s, "--mode", "available-now", log=log)
    assert final.wait(600) == 0, log.read_text()[-3000:]

    archived = execute(s, "SELECT event_id FROM raw_events")
    assert len(archived) == len({r[0] for r in archived})         # no duplicates
    assert {r[0] for r in archived} == sender.acked               # nothing lost, nothing extra
    assert sender.acked == sender.sent and len(sender.sent) >= 170_000   # every send acknowledged
    (newest,), = execute(s, "SELECT cast(max(event_ts) AS STRING) FROM raw_events")
    closed = datetime.fromisoformat(newest).replace(second=0, microsecond=0) - timedelta(minutes=2)
    live_metrics_equal_a_recomputation(s, closed_before=closed, min_windows=3)
    for table in ("live_metrics_parts", "live_paths"):
        live_partitions_stay_within_their_bound(Path(s.table_path(table).removeprefix("file://")))


def live_partitions_stay_within_their_bound(table: Path) -> None:
    """Every hour partition's current directory holds at most MAX_FILES files and the batch after them
    (and a killed attempt's); the partitions were compacted (the bound was reached)."""
    compacted = 0
    for partition in table.glob("dt=*/hr=*"):
        compacted += len(list(partition.glob("_g*")))
        current = current_local_dir(partition)
        files = [f for f in current.glob("*.parquet") if not f.name.startswith((".", "_"))]
        assert len(files) <= MAX_FILES + 2, (current, sorted(f.name for f in files))
    assert compacted > 0
