"""What the streaming application is doing, read from outside it (no Spark): for `make status`, dashboards.

- ``application(settings)``: the record the application writes when it starts (lifecycle.py);
- ``newest_progress(settings)``: the newest row of ``stream_progress`` (newest file of the newest day);
- ``committed_offsets(checkpoint)``: the Kafka offsets up to which a query's newest committed
  micro-batch read, from its checkpoint (offsets log entry of the newest commit);
- ``read_progress(settings)`` / ``processed_rows(settings)``: every row of ``stream_progress``, and the
  input rows each query has processed by it;
- ``lag(settings)``: per partition of the events topic, the broker's log end minus what ingest committed.

Files are read through pyarrow's file systems, so ``file://`` and ``hdfs://`` warehouses both work.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from clickstream import storage
from clickstream.settings import Settings
from clickstream.topics import log_bounds

INGEST_CHECKPOINT = "ingest"
QUERIES = ("ingest",)  # the application's queries: one (clickstream/streaming/app.py)


def _read_text(uri: str, settings: Settings | None = None) -> str | None:
    filesystem, path = storage.from_uri(uri, settings)
    try:
        with filesystem.open_input_stream(path) as stream:
            return stream.read().decode()
    except (FileNotFoundError, OSError):
        return None


def _names(uri: str, settings: Settings | None = None) -> list[str]:
    filesystem, path = storage.from_uri(uri, settings)
    try:
        infos = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    except OSError:
        return []
    return [info.base_name for info in infos if not info.base_name.startswith(".")]


def application(settings: Settings) -> dict | None:
    """Return what the streaming application recorded when it last started, or None."""
    text = _read_text(f"{settings.streaming_control_uri}/application.json", settings)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def newest_progress(settings: Settings) -> dict | None:
    """Return the newest progress row the application wrote (today's or yesterday's), or None."""
    root = settings.table_path("stream_progress")
    today = datetime.now(UTC).date()
    for day in (today, today - timedelta(days=1)):
        directory = f"{root}/dt={day:%Y-%m-%d}"
        files = sorted(n for n in _names(directory, settings) if n.endswith(".parquet"))
        if files:
            filesystem, path = storage.from_uri(f"{directory}/{files[-1]}", settings)
            rows = pq.read_table(path, filesystem=filesystem).to_pylist()
            if rows:
                return max(rows, key=lambda r: r["ts"])
    return None


def committed_offsets(checkpoint_uri: str, settings: Settings | None = None) -> dict[str, dict[int, int]]:
    """Return {topic: {partition: offset}} up to which the newest committed micro-batch read ({} if none).

    A checkpoint's ``commits/<n>`` marks batch n done; ``offsets/<n>`` holds "v1", the batch's
    metadata, then one line per source with where the batch ends (Spark's Kafka offset JSON).
    """
    root = checkpoint_uri.rstrip("/")
    done = [int(n) for n in _names(f"{root}/commits", settings) if n.isdigit()]
    if not done:
        return {}
    entry = offsets_entry(_read_text(f"{root}/offsets/{max(done)}", settings) or "")
    return {topic: {int(p): o for p, o in partitions.items() if p.isdigit()}
            for topic, partitions in entry.items()}


def offsets_entry(text: str) -> dict[str, dict[str, int]]:
    """Parse one offsets-log entry into {topic: {partition: offset}} (the Kafka sources' lines)."""
    offsets: dict[str, dict[str, int]] = {}
    for line in text.splitlines()[2:]:
        try:
            source = json.loads(line)
        except ValueError:
            continue
        if isinstance(source, dict):
            offsets.update({t: p for t, p in source.items() if isinstance(p, dict)})
    return offsets


def lag(settings: Settings) -> dict[int, int] | None:
    """Return per partition of the events topic how many records ingest has yet to commit (None: unknown)."""
    topic = settings.topic_events
    committed = committed_offsets(settings.checkpoint_path(INGEST_CHECKPOINT), settings).get(topic)
    if committed is None:
        return None
    bounds = log_bounds(settings, topic, timeout=5)
    return {p: max(0, end - committed.get(p, first)) for p, (first, end) in sorted(bounds.items())}


def read_progress(settings: Settings) -> list[dict]:
    """Return every row of stream_progress written so far, oldest first."""
    filesystem, root = storage.from_uri(settings.table_path("stream_progress"), settings)
    try:
        if filesystem.get_file_info(root).type == pafs.FileType.NotFound:
            return []
        table = ds.dataset(root, filesystem=filesystem, format="parquet", partitioning="hive").to_table()
    except FileNotFoundError:
        return []
    return sorted(table.to_pylist(), key=lambda r: r["ts"])


def processed_rows(settings: Settings) -> dict[str, int]:
    """Return how many input rows each query has processed, by the progress table."""
    totals = dict.fromkeys(QUERIES, 0)
    for row in read_progress(settings):
        totals[row["query"]] = totals.get(row["query"], 0) + (row["input_rows"] or 0)
    return totals
