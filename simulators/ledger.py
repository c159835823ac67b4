"""Ground-truth ledger: per hour of event time, what an app generated, sent, accepted and rejected.

Counters live in memory and are flushed as Parquet into the warehouse table
``sim_ledger`` (partitioned by ``dt`` and ``app``). Each process writes its
own file per day, named by its run id, and rewrites it atomically on each
flush, so a restart never overwrites an earlier run's counts: readers sum
over runs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

log = logging.getLogger(__name__)

# Events: generated (the simulated users), sent (the collector took them from a simulated user: counted
# when it takes the request, so an answer lost at a stop cannot leave an accepted event unsent),
# external (the collector took them from any other client), unsent (a user gave up on them because
# its site was stopping), accepted and rejected (the collector, on the broker's ack). Requests the
# collector refused whole (malformed JSON, too large…): rejected_requests.
METRICS = ("generated", "sent", "accepted", "rejected", "rejected_requests", "unsent", "external")
SIMULATED_HEADER = "X-Clickstream-Batch"  # the simulated users' requests carry it: the batch's id

LEDGER_SCHEMA = pa.schema([
    ("hr", pa.int32()),
    ("run_id", pa.string()),
    ("generated", pa.int64()),
    ("sent", pa.int64()),
    ("accepted", pa.int64()),
    ("rejected", pa.int64()),
    ("rejected_requests", pa.int64()),
    ("rejected_by_reason", pa.map_(pa.string(), pa.int64())),
    ("unsent", pa.int64()),
    ("external", pa.int64()),
])  # fmt: skip


class Ledger:
    """Thread-safe hourly counters of one app process."""

    def __init__(self, app_id: str, table_uri: str | None, run_id: str | None = None):
        self.app_id = app_id
        self.table_uri = table_uri
        self.run_id = run_id or f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}"
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # the periodic flusher and /simulation/flush may race
        self._counts: dict[tuple[str, int], Counter] = defaultdict(Counter)
        self._dirty: set[str] = set()

    def add(self, key: tuple[str, int], metric: str, n: int = 1, reason: str | None = None) -> None:
        """Count n events of one metric (and reason, for rejections) in an hour."""
        with self._lock:
            counter = self._counts[key]
            counter[metric] += n
            if reason is not None:
                counter[f"reason:{reason}"] += n
            self._dirty.add(key[0])

    def mark_all_dirty(self) -> None:
        """Make the next flush rewrite every day (after a failed flush)."""
        with self._lock:
            self._dirty.update(dt for dt, _ in self._counts)

    def totals(self) -> dict[str, int]:
        """Return the counters summed over all hours."""
        out: Counter = Counter()
        with self._lock:
            for counter in self._counts.values():
                out.update(counter)
        return {m: out.get(m, 0) for m in METRICS} | {
            k: v for k, v in sorted(out.items()) if k.startswith("reason:")
        }

    def snapshot(self) -> list[dict]:
        """Return one row per hour: dt, hr and every counter."""
        with self._lock:
            items = sorted((k, Counter(v)) for k, v in self._counts.items())
        rows = []
        for (dt, hr), counter in items:
            reasons = {k[7:]: v for k, v in sorted(counter.items()) if k.startswith("reason:")}
            rows.append({"dt": dt, "hr": hr, **{m: counter.get(m, 0) for m in METRICS},
                         "rejected_by_reason": reasons})
        return rows

    def flush(self) -> int:
        """Write every day changed since the last flush; return the number of files written."""
        if not self.table_uri:
            return 0
        with self._flush_lock:
            return self._flush_days()

    def _flush_days(self) -> int:
        with self._lock:
            days, self._dirty = self._dirty, set()
        if not days:
            return 0
        filesystem, root = fs.FileSystem.from_uri(self.table_uri)
        rows = self.snapshot()
        for dt in sorted(days):
            day = [r for r in rows if r["dt"] == dt]
            table = pa.Table.from_pylist(
                [{"hr": r["hr"], "run_id": self.run_id, **{m: r[m] for m in METRICS},
                  "rejected_by_reason": list(r["rejected_by_reason"].items())} for r in day],
                schema=LEDGER_SCHEMA,
            )  # fmt: skip
            folder = f"{root}/dt={dt}/app={self.app_id}"
            filesystem.create_dir(folder, recursive=True)
            tmp = f"{folder}/.{self.run_id}-{uuid.uuid4().hex[:8]}.parquet.tmp"
            pq.write_table(table, tmp, filesystem=filesystem)
            filesystem.move(tmp, f"{folder}/run-{self.run_id}.parquet")
        return len(days)


class LedgerFlusher(threading.Thread):
    """Flush a ledger every few seconds until stopped, and once more at the end."""

    def __init__(self, ledger: Ledger, every_s: float = 5.0):
        super().__init__(name=f"ledger-flush-{ledger.app_id}", daemon=True)
        self.ledger = ledger
        self.every_s = every_s
        self.stopped = threading.Event()

    def run(self) -> None:
        """Flush periodically."""
        while not self.stopped.wait(self.every_s):
            self._flush()
        self._flush()

    def _flush(self) -> None:
        try:
            self.ledger.flush()
        except Exception:  # noqa: BLE001 - keep counting; the next flush retries
            log.exception("ledger flush failed; will retry")
            self.ledger.mark_all_dirty()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop and wait for the final flush."""
        self.stopped.set()
        start = time.monotonic()
        self.join(timeout)
        log.info("ledger flusher stopped in %.1fs", time.monotonic() - start)
