"""Query progress of the streaming application, as a Hive table Airflow and the dashboard read.

``ProgressRecorder`` polls every query's recent progress and turns each
micro-batch's progress (and a query's idle spells) into one row — input and processing rate, batch duration,
watermark, how far the source is behind the log end, state size — and
writes them every ``flush_s`` seconds as one Parquet file into
``stream_progress`` (partitioned by dt), registering new partitions through
HiveServer2. The files go through pyarrow's filesystem layer, so the same
code writes to ``file://`` embedded and ``hdfs://`` in production.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from clickstream import storage

log = logging.getLogger("clickstream.progress")

FIRST_FLUSH_S = 5.0

PROGRESS_SCHEMA = pa.schema([
    ("query", pa.string()), ("run_id", pa.string()), ("batch_id", pa.int64()),
    ("ts", pa.timestamp("ms", tz="UTC")), ("input_rows", pa.int64()), ("input_rps", pa.float64()),
    ("processed_rps", pa.float64()), ("batch_ms", pa.int64()), ("watermark", pa.timestamp("ms", tz="UTC")),
    ("offsets_behind", pa.int64()), ("state_rows", pa.int64()), ("idle", pa.bool_()),
    ("durations", pa.string()),
])  # fmt: skip
_HIVE_TYPES = {pa.string(): "STRING", pa.int64(): "BIGINT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN",
               pa.timestamp("ms", tz="UTC"): "TIMESTAMP"}
HIVE_COLUMNS = [(f.name, _HIVE_TYPES[f.type]) for f in PROGRESS_SCHEMA]


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _offset_total(offsets) -> int | None:
    """Sum the partition offsets of a Kafka source offset ({topic: {partition: offset}}, or its JSON)."""
    if isinstance(offsets, str):
        try:
            offsets = json.loads(offsets)
        except ValueError:
            return None
    if not isinstance(offsets, dict):
        return None
    total = 0
    for per_topic in offsets.values():
        if not isinstance(per_topic, dict):
            return None
        total += sum(v for v in per_topic.values() if isinstance(v, int))
    return total


def progress_row(progress: dict) -> dict:
    """Return the progress row of one StreamingQueryProgress (as its JSON dict)."""
    behind = None
    for source in progress.get("sources", []):
        latest, end = _offset_total(source.get("latestOffset")), _offset_total(source.get("endOffset"))
        if latest is not None and end is not None:
            behind = (behind or 0) + max(0, latest - end)
    return {
        "query": progress.get("name") or progress["id"],
        "run_id": progress.get("runId"),
        "batch_id": progress.get("batchId"),
        "ts": _time(progress["timestamp"]),
        "input_rows": progress.get("numInputRows", 0),
        "input_rps": progress.get("inputRowsPerSecond"),
        "processed_rps": progress.get("processedRowsPerSecond"),
        "batch_ms": (progress.get("durationMs") or {}).get("triggerExecution"),
        "watermark": _time((progress.get("eventTime") or {}).get("watermark")),
        "offsets_behind": behind,
        "state_rows": sum(op.get("numRowsTotal", 0) for op in progress.get("stateOperators", [])),
        "idle": False,
        # Where the batch's time went (addBatch, latestOffset, queryPlanning, walCommit, …), as JSON.
        "durations": json.dumps(progress.get("durationMs") or {}, sort_keys=True),
    }


class ProgressRecorder:
    """Collects the queries' progress and writes it to the ``stream_progress`` table every few seconds.

    It polls each query's ``recentProgress`` from a thread of its own (every ``poll_s``) rather than
    listening: a Python ``StreamingQueryListener`` is called through Py4J for every progress event of
    every query, which took 10.6 % of the driver's CPU samples at `make run`'s load (a JFR profile,
    docs/streaming.md). A query that reported nothing new for ``idle_after_s`` while active is
    recorded as idle (alive, nothing to do), as Spark's idle event would say.
    """

    def __init__(self, table_uri: str, register=None, flush_s: float = 30.0, poll_s: float = 5.0,
                 idle_after_s: float = 10.0):
        self.table_uri = table_uri.rstrip("/")
        self.register = register  # callable(list of (dt,)) adding partitions in Hive
        self.flush_s = flush_s
        self.poll_s = poll_s
        self.idle_after_s = idle_after_s
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        # The first rows go out a few seconds after the start rather than flush_s: a health check
        # right after a restart sees the application at once.
        self._last_flush = time.monotonic() - max(0.0, flush_s - FIRST_FLUSH_S)
        self._queries: list = []
        self._seen: dict[tuple[str, int], None] = {}  # (run id, batch id) recorded, oldest first
        self._last_report: dict[str, float] = {}  # run id -> monotonic time of its newest row
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, query) -> None:
        """Record this query's progress from now on (and what it reported since it started)."""
        with self._lock:
            self._queries.append(query)

    def start(self) -> None:
        """Poll the watched queries every poll_s until ``stop``."""
        self._thread = threading.Thread(target=self._run, name="progress-recorder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - progress must never take the application down
                log.warning("could not read the queries' progress", exc_info=True)

    def stop(self) -> None:
        """Stop polling, read the queries' last progress and write what is buffered."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        try:
            self.poll()
        except Exception:  # noqa: BLE001 - the JVM may be gone already
            log.warning("could not read the queries' last progress", exc_info=True)
        self.flush()

    def poll(self) -> None:
        """Record the progress the watched queries made since the last poll, and idle ones."""
        now = time.monotonic()
        with self._lock:
            queries = list(self._queries)
        for query in queries:
            run_id = str(query.runId)
            for progress in query.recentProgress:
                row = progress_row(json.loads(progress.json))
                key = (row["run_id"], row["batch_id"])
                if key in self._seen:
                    continue
                self._seen[key] = None
                self._last_report[run_id] = now
                self._add(row)
            if query.isActive and now - self._last_report.setdefault(run_id, now) >= self.idle_after_s:
                self._last_report[run_id] = now
                self._add({"query": query.name or str(query.id), "run_id": run_id,
                           "ts": datetime.now(UTC), "input_rows": 0, "idle": True})
        while len(self._seen) > 10_000:  # Spark keeps the last 100 progress updates of each query
            del self._seen[next(iter(self._seen))]

    def _add(self, row: dict) -> None:
        with self._lock:
            self._rows.append(row)
            due = time.monotonic() - self._last_flush >= self.flush_s
        if due:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one Parquet file per day they fall on."""
        with self._lock:
            rows, self._rows = self._rows, []
            self._last_flush = time.monotonic()
        if not rows:
            return
        try:
            filesystem, root = storage.from_uri(self.table_uri)
            by_day: dict[str, list[dict]] = {}
            for row in rows:
                by_day.setdefault(row["ts"].strftime("%Y-%m-%d"), []).append(row)
            for dt, day_rows in sorted(by_day.items()):
                directory = f"{root}/dt={dt}"
                filesystem.create_dir(directory, recursive=True)
                table = pa.Table.from_pylist(day_rows, schema=PROGRESS_SCHEMA)
                # Unique: two flushes in the same millisecond (a stop's right after a periodic one) must not
                # write the same name, the second replacing the first's rows.
                name = f"progress-{int(time.time() * 1000)}-{uuid.uuid4().hex[:12]}.parquet"
                # Hidden while being written: readers skip names starting with a dot.
                pq.write_table(table, f"{directory}/.{name}", filesystem=filesystem)
                filesystem.move(f"{directory}/.{name}", f"{directory}/{name}")
            if self.register is not None:
                self.register([(dt,) for dt in sorted(by_day)])
        except Exception:  # noqa: BLE001 - progress must never take the application down
            log.exception("could not write %d progress rows", len(rows))
