"""Query progress rows, the progress table's files, and the stall rules of the health check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow.dataset as ds

from clickstream.streaming.health import stalls
from clickstream.streaming.progress import ProgressRecorder, progress_row

PROGRESS = {
    "id": "6c0f", "runId": "a1b2", "name": "ingest", "timestamp": "2026-11-20T12:00:05.123Z",
    "batchId": 41, "numInputRows": 5000, "inputRowsPerSecond": 2500.0, "processedRowsPerSecond": 4100.5,
    "durationMs": {"addBatch": 1100, "latestOffset": 20, "triggerExecution": 1220},
    "eventTime": {"watermark": "2026-11-20T11:50:00.000Z"},
    "stateOperators": [{"numRowsTotal": 120_000}, {"numRowsTotal": 7}],
    # Spark's Kafka source, as StreamingQueryProgress.json renders it.
    "sources": [{
        "startOffset": {"clickstream.events": {"0": 10, "1": 20}},
        "endOffset": {"clickstream.events": {"0": 2510, "1": 2520}},
        "latestOffset": {"clickstream.events": {"0": 4000, "1": 2600}},
    }],
}  # fmt: skip


def test_progress_row_has_rates_lag_and_watermark():
    row = progress_row(PROGRESS)
    assert row == {
        "query": "ingest", "run_id": "a1b2", "batch_id": 41,
        "ts": datetime(2026, 11, 20, 12, 0, 5, 123000, tzinfo=UTC), "input_rows": 5000,
        "input_rps": 2500.0, "processed_rps": 4100.5, "batch_ms": 1220,
        "watermark": datetime(2026, 11, 20, 11, 50, tzinfo=UTC), "offsets_behind": 1490 + 80,
        "state_rows": 120_007, "idle": False,
        "durations": '{"addBatch": 1100, "latestOffset": 20, "triggerExecution": 1220}',
    }  # fmt: skip
    # Offsets given as JSON text count the same.
    text = dict(PROGRESS, sources=[{"endOffset": json.dumps({"t": {"0": 5}}),
                                    "latestOffset": json.dumps({"t": {"0": 9}})}])
    assert progress_row(text)["offsets_behind"] == 4
    assert progress_row(dict(PROGRESS, sources=[{"endOffset": None}]))["offsets_behind"] is None


def test_recorder_writes_parquet_per_day_and_registers_partitions(tmp_path):
    registered = []
    recorder = ProgressRecorder(tmp_path.as_uri(), register=registered.extend, flush_s=3600)
    recorder._add(progress_row(PROGRESS))
    recorder._add(progress_row(dict(PROGRESS, timestamp="2026-11-21T00:00:01.000Z", batchId=42)))
    assert list(tmp_path.iterdir()) == []      # buffered until the flush interval
    recorder.flush()
    rows = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table().to_pylist()
    assert sorted((r["dt"], r["batch_id"], r["offsets_behind"]) for r in rows) == [
        ("2026-11-20", 41, 1570), ("2026-11-21", 42, 1570)]
    assert registered == [("2026-11-20",), ("2026-11-21",)]
    assert not [p for p in tmp_path.rglob(".*")]   # no half-written hidden files left


def test_the_first_rows_are_written_seconds_after_the_start_then_every_flush_interval(tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("clickstream.streaming.progress.time.monotonic", lambda: clock[0])
    recorder = ProgressRecorder(tmp_path.as_uri(), flush_s=30)

    def files():
        return len(list(tmp_path.rglob("*.parquet")))

    recorder._add(progress_row(PROGRESS))
    assert files() == 0
    clock[0] += 5  # a health check right after a restart finds the application's rows
    recorder._add(progress_row(dict(PROGRESS, batchId=42)))
    assert files() == 1
    clock[0] += 20
    recorder._add(progress_row(dict(PROGRESS, batchId=43)))
    assert files() == 1
    clock[0] += 10
    recorder._add(progress_row(dict(PROGRESS, batchId=44)))
    assert files() == 2


NOW = datetime(2026, 11, 20, 12, 30)
QUERIES = ("ingest", "live_metrics")


def rows(query: str, minutes_ago: list[float], n: int = 100, behind: int | None = 0) -> list[tuple]:
    return [(query, str(NOW - timedelta(minutes=m)), n, behind) for m in minutes_ago]


def test_healthy_when_every_query_reports():
    assert stalls(rows("ingest", [9, 6, 3, 0.5]) + rows("live_metrics", [8, 1]), NOW, queries=QUERIES) == []
    # Idle (nothing to read, nothing behind) is healthy too.
    idle = rows("ingest", [9, 4, 0.2], n=0) + rows("live_metrics", [0.3], n=0)
    assert stalls(idle, NOW, queries=QUERIES) == []


def test_stalled_when_silent_or_behind_without_reading():
    silent = rows("ingest", [9, 7]) + rows("live_metrics", [0.5])
    assert stalls(silent, NOW, queries=QUERIES) == ["ingest: last progress at 12:23:00 UTC, 7 minutes ago"]
    assert stalls(rows("ingest", [1]), NOW, queries=QUERIES) == [
        "live_metrics: no progress reported since 12:20 UTC"]
    stuck = rows("ingest", [9, 6, 4, 2, 0.5], n=0, behind=25_000) + rows("live_metrics", [0.5])
    assert stalls(stuck, NOW, queries=QUERIES) == [
        "ingest: 25000 records behind the log end but read none in the last 5 minutes"]
    # Behind but reading: catching up, not stalled.
    catching_up = rows("ingest", [9, 6, 4, 2, 0.5], n=40_000, behind=25_000) + rows("live_metrics", [0.5])
    assert stalls(catching_up, NOW, queries=QUERIES) == []


def test_an_application_that_started_lately_is_starting_not_stalled():
    # Restarted 2 minutes ago after a long stop: the old application's rows are old, the new one's not in.
    old = rows("ingest", [9, 8]) + rows("live_metrics", [8])
    started = NOW - timedelta(minutes=2)
    assert stalls(old, NOW, queries=QUERIES, started=started) == []
    assert stalls([], NOW, queries=QUERIES, started=started) == []  # a fresh stack: no table, no rows
    # One query has reported since the start: the other is still given its time.
    assert stalls(rows("ingest", [1]), NOW, queries=QUERIES, started=started) == []
    # Started longer ago than stall_after: judged as any application.
    started = NOW - timedelta(minutes=6)
    assert stalls(rows("ingest", [1]), NOW, queries=QUERIES, started=started) == [
        "live_metrics: no progress reported since 12:20 UTC"]
    # A start record older than the last progress changes nothing.
    assert stalls(old, NOW, queries=QUERIES, started=NOW - timedelta(minutes=20)) == [
        "ingest: last progress at 12:22:00 UTC, 8 minutes ago",
        "live_metrics: last progress at 12:22:00 UTC, 8 minutes ago"]


def test_the_recorder_polls_each_batch_once_and_records_idle_queries(spark, tmp_path):
    from embedded.polling import wait_for

    busy = (spark.readStream.format("rate").option("rowsPerSecond", 50).load()
            .writeStream.format("noop").queryName("busy").trigger(processingTime="200 milliseconds")
            .option("checkpointLocation", str(tmp_path / "cp-busy")).start())
    (tmp_path / "empty").mkdir()
    idle = (spark.readStream.schema("value STRING").text(str(tmp_path / "empty"))
            .writeStream.format("noop").queryName("idle").trigger(processingTime="200 milliseconds")
            .option("checkpointLocation", str(tmp_path / "cp-idle")).start())
    recorder = ProgressRecorder((tmp_path / "progress").as_uri(), flush_s=3600, poll_s=0.3,
                                idle_after_s=1.0)
    recorder.watch(busy)
    recorder.watch(idle)
    recorder.start()
    try:
        wait_for(lambda: len(busy.recentProgress) >= 8 or None, 60, 0.2, "eight batches of the busy query")
        wait_for(lambda: any(r["query"] == "idle" for r in recorder._rows) or None, 30, 0.2, "an idle row")
    finally:
        busy.stop()
        idle.stop()
    recorder.stop()
    rows = ds.dataset(tmp_path / "progress", format="parquet", partitioning="hive").to_table().to_pylist()
    batches = [r["batch_id"] for r in rows if r["query"] == "busy"]
    # Every batch the query reported, once, with its input rows.
    assert sorted(batches) == list(range(len(batches))) and len(batches) >= 8
    assert sum(r["input_rows"] for r in rows if r["query"] == "busy") == sum(
        p.numInputRows for p in busy.recentProgress)
    assert any(r["query"] == "idle" and r["idle"] and r["input_rows"] == 0 for r in rows)
