"""The collector's Kafka producer: all-or-nothing admission, counted acks, nothing dropped silently.

A request's events are admitted only when the broker is making progress and
the bounded buffer has room for all of them; otherwise the collector answers
503 and nothing of the request was produced, so a client retry cannot
duplicate. Admitted events are retried by the idempotent producer until the
broker acknowledges them (``message.timeout.ms=0``). An event that still
fails — or is left in the buffer at shutdown — is written to a spill file
with the error, and logged.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import orjson
from confluent_kafka import KafkaError, Producer

from simulators.ledger import Ledger

log = logging.getLogger(__name__)

# How long the producer gathers a partition's events into one record batch, compressed with lz4:
# fewer, larger requests for the broker, at most 50 ms more on an event's way into the live view.
LINGER_MS = 50
COMPRESSION = "lz4"


class Outgoing(NamedTuple):
    """One record to produce: topic, key, value, and how the ledger counts its ack."""

    topic: str
    key: bytes | None
    value: bytes
    hour: tuple[str, int]
    metric: str  # "accepted" or "rejected"
    reason: str | None = None


class EventSink:
    """Produce admitted records and count their acknowledgements in a ledger."""

    def __init__(
        self, bootstrap: str, ledger: Ledger, spill_path: Path, *,
        capacity: int = 200_000, stall_s: float = 2.0, producer_config: dict | None = None,
    ):  # fmt: skip
        self.ledger = ledger
        self.spill_path = spill_path
        self.capacity = capacity
        self.stall_s = stall_s
        config = {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": LINGER_MS,
            "compression.type": COMPRESSION,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": capacity + 10_000,
            "queue.buffering.max.kbytes": 1_048_576,
            "message.timeout.ms": 0,  # retry until acknowledged; never expire silently
            "error_cb": self._on_error,
            **(producer_config or {}),
        }
        self._producer = Producer(config)
        self._lock = threading.Lock()
        self.produced = 0
        self.delivered = 0
        self.failed = 0
        self._last_progress = time.monotonic()
        self._broker_down = False
        self._running = True
        self._poller = threading.Thread(target=self._poll_loop, name="sink-poll", daemon=True)
        self._poller.start()

    # -- health --------------------------------------------------------------

    @property
    def outstanding(self) -> int:
        """Return records produced but not yet acknowledged or failed."""
        return self.produced - self.delivered - self.failed

    def available(self) -> bool:
        """Return whether the broker is taking records (progress within stall_s)."""
        with self._lock:
            stalled = self.outstanding > 0 and time.monotonic() - self._last_progress > self.stall_s
            return not stalled and not (self._broker_down and self.outstanding > 0)

    def status(self) -> dict:
        """Return counters and health for /simulation and /healthz."""
        return {
            "available": self.available(), "produced": self.produced, "delivered": self.delivered,
            "failed": self.failed, "outstanding": self.outstanding, "capacity": self.capacity,
        }  # fmt: skip

    def _on_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            self._broker_down = True
        log.warning("kafka producer: %s", err)

    # -- producing -----------------------------------------------------------

    def try_send(self, records: Sequence[Outgoing]) -> bool:
        """Produce all records, or none and return False when the broker cannot take them."""
        if not self._running:
            return False
        with self._lock:
            stalled = self.outstanding > 0 and time.monotonic() - self._last_progress > self.stall_s
            if stalled or self.outstanding + len(records) > self.capacity:
                return False
            if self.outstanding == 0:
                self._last_progress = time.monotonic()
            self.produced += len(records)
        batch = _Batch(self, len(records))
        produce = self._producer.produce
        for rec in records:
            callback = batch.callback(rec)
            while True:
                try:
                    produce(rec.topic, rec.value, rec.key, on_delivery=callback)
                    break
                except BufferError:
                    # Capacity is reserved below the hard limit; this only waits out a race.
                    time.sleep(0.01)
        return True

    def _acked(self, ok: int, failed: int) -> None:
        with self._lock:
            self._last_progress = time.monotonic()
            self.delivered += ok
            self.failed += failed
            if ok:
                self._broker_down = False

    def _spill(self, rec: Outgoing, error: str) -> None:
        log.error("event not delivered to %s: %s; spilled to %s", rec.topic, error, self.spill_path)
        line = orjson.dumps({"topic": rec.topic, "error": error, "value": rec.value.decode(),
                             "key": rec.key.decode() if rec.key else None})
        self.spill_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.spill_path, "ab") as fh:
            fh.write(line + b"\n")

    def _poll_loop(self) -> None:
        # The only caller of poll(): delivery callbacks all run in this thread.
        while self._running:
            self._producer.poll(0.1)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for acknowledgements; return records still outstanding."""
        if not self._running:
            return self.outstanding
        deadline = time.monotonic() + timeout
        while self.outstanding > 0 and time.monotonic() < deadline:
            self._producer.flush(min(1.0, max(0.0, deadline - time.monotonic())))
        return self.outstanding

    def close(self, timeout: float = 30.0) -> None:
        """Flush, spill whatever the broker never acknowledged, and stop polling."""
        left = self.flush(timeout)
        if left:
            log.error("%d events unacknowledged at shutdown; purging them to %s", left,
                      self.spill_path)
            self._producer.purge()
            self._producer.flush(5)
        self._running = False
        self._poller.join(2)
        # Release librdkafka's handle now, so it stops reconnecting to a broker that is gone.
        del self._producer


class _Batch:
    """Acknowledgements of one request's records, counted into the ledger in one go."""

    __slots__ = ("sink", "pending", "ok", "failed", "counts")

    def __init__(self, sink: EventSink, n: int):
        self.sink = sink
        self.pending = n
        self.ok = 0
        self.failed = 0
        self.counts: dict[tuple[tuple[str, int], str, str | None], int] = {}

    def callback(self, rec: Outgoing) -> Callable:
        """Return the delivery callback of one record."""

        def on_delivery(err: KafkaError | None, _msg) -> None:
            self.pending -= 1
            if err is None:
                self.ok += 1
                key = (rec.hour, rec.metric, rec.reason)
                self.counts[key] = self.counts.get(key, 0) + 1
            else:
                self.failed += 1
                self.sink._spill(rec, str(err))
            if self.pending == 0 or self.ok + self.failed >= 1000:
                self._settle()

        return on_delivery

    def _settle(self) -> None:
        for (hour, metric, reason), n in self.counts.items():
            self.sink.ledger.add(hour, metric, n, reason=reason)
        self.sink._acked(self.ok, self.failed)
        self.counts, self.ok, self.failed = {}, 0, 0


def spill_path_for(data_dir: Path, app_id: str) -> Path:
    """Return where an app's undeliverable events are written."""
    return data_dir / "spill" / f"collector-{app_id}-{os.getpid()}.jsonl"
