"""The raw archive writer: each event exactly once for a directory listing, even after a replay."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import orjson
import pytest

from clickstream.streaming import archive
from clickstream.streaming.events import transform_parse, valid_events
from simulators.enrich import enrichment
from simulators.generate import day_sessions
from simulators.population import HUMAN_AGENTS
from simulators.sites import SITES

EXTRA = enrichment("49.207.12.34", HUMAN_AGENTS[0][1], "2026-11-02T01:00:00.000Z")


def events_df(spark, seed: str, n: int):
    rng = random.Random(seed)
    events = [e | EXTRA for b in day_sessions(SITES["shop"], date(2026, 11, 1), n, rng,
                                              malformed_share=0) for e in b.events]
    df = spark.createDataFrame([(orjson.dumps(e).decode(),) for e in events], "value string")
    return valid_events(transform_parse(df)), events


def listing(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def test_batches_land_once_under_deterministic_names(spark, tmp_path):
    table, staging = tmp_path / "raw_events", tmp_path / "_staging"
    df, events = events_df(spark, "archive-1", 1500)
    touched = archive.write_batch(df, 7, table.as_uri(), staging.as_uri())
    files = listing(table)
    hours = sorted({(e["event_time"][:10], str(int(e["event_time"][11:13]))) for e in events})
    assert touched == hours
    assert sorted(files) == sorted(f"dt={d}/hr={h}/batch-0000000007.parquet" for d, h in hours)
    assert not staging.exists() or listing(staging) == {}

    back = spark.read.parquet(str(table))
    assert sorted(r.event_id for r in back.select("event_id").collect()) == \
        sorted(e["event_id"] for e in events)

    # A replay of the same batch rewrites the same files: same names, same rows, nothing added.
    archive.write_batch(df, 7, table.as_uri(), staging.as_uri())
    assert sorted(listing(table)) == sorted(files)
    assert spark.read.parquet(str(table)).count() == len(events)

    # The next batch adds its own files beside them.
    df2, events2 = events_df(spark, "archive-2", 300)
    archive.write_batch(df2, 8, table.as_uri(), staging.as_uri())
    ids = [r.event_id for r in spark.read.parquet(str(table)).select("event_id").collect()]
    assert sorted(ids) == sorted(e["event_id"] for e in [*events, *events2])


def test_a_batch_interrupted_between_renames_is_completed_by_its_replay(spark, tmp_path, monkeypatch):
    table, staging = tmp_path / "raw_events", tmp_path / "_staging"
    df, events = events_df(spark, "archive-3", 1200)
    real_replace = archive.HadoopFs.replace
    calls = {"n": 0}

    def crash_after_two(self, src, dst):
        calls["n"] += 1
        if calls["n"] > 2:
            raise OSError("simulated crash mid-batch")
        real_replace(self, src, dst)

    monkeypatch.setattr(archive.HadoopFs, "replace", crash_after_two)
    with pytest.raises(OSError, match="simulated crash"):
        archive.write_batch(df, 3, table.as_uri(), staging.as_uri())
    partial = spark.read.parquet(str(table)).count()
    assert 0 < partial < len(events)  # a directory reader sees part of the batch, never duplicates

    monkeypatch.setattr(archive.HadoopFs, "replace", real_replace)
    archive.write_batch(df, 3, table.as_uri(), staging.as_uri())  # Spark replays the batch
    ids = [r.event_id for r in spark.read.parquet(str(table)).select("event_id").collect()]
    assert sorted(ids) == sorted(e["event_id"] for e in events)


def test_a_query_killed_while_writing_its_first_offsets_starts_again(spark, tmp_path):
    """kill -9 between Spark's write of offsets/.0.<uuid>.tmp and its rename (seen in the recovery test)."""
    from pyspark.errors import StreamingQueryException

    source, checkpoint = tmp_path / "in", tmp_path / "checkpoint"
    source.mkdir()
    seen: dict[str, int] = {}

    def run():
        counts = spark.readStream.schema("page string").json(str(source)).groupBy("page").count()
        return (counts.writeStream.outputMode("update").option("checkpointLocation", checkpoint.as_uri())
                .foreachBatch(lambda batch, _: seen.update({r["page"]: r["count"] for r in batch.collect()}))
                .start())

    query = run()  # nothing to read yet: the checkpoint has its metadata, no batch
    query.processAllAvailable()
    query.stop()
    (source / "a.json").write_text('{"page": "/home"}\n{"page": "/home"}\n{"page": "/cart"}\n')
    half_written = checkpoint / "offsets" / ".0.c059c8b6-a27f-4ebe-8438-24bdd9132a2f.tmp"
    half_written.parent.mkdir(exist_ok=True)
    half_written.write_text("v1\n{")
    (checkpoint / "offsets" / "..0.c059c8b6-a27f-4ebe-8438-24bdd9132a2f.tmp.crc").write_bytes(b"crc")

    query = run()
    with pytest.raises(StreamingQueryException, match="STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY"):
        query.processAllAvailable()
    assert seen == {}

    assert archive.remove_unfinished_log_writes(spark, checkpoint.as_uri()) == [
        "offsets/.0.c059c8b6-a27f-4ebe-8438-24bdd9132a2f.tmp"]
    assert not any(p.name.endswith((".tmp", ".tmp.crc")) for p in (checkpoint / "offsets").iterdir())
    query = run()
    query.processAllAvailable()
    query.stop()
    assert seen == {"/home": 2, "/cart": 1}
    assert sorted(p.name for p in (checkpoint / "offsets").iterdir() if not p.name.startswith(".")) == ["0"]


def test_a_partition_set_aside_goes_to_its_directory_in_the_same_write(spark, tmp_path):
    table, staging, state = tmp_path / "live_paths", tmp_path / "_staging", tmp_path / "_state"
    df = spark.createDataFrame([("a", "2026-11-01"), ("b", "2026-11-02"), ("c", "open"), ("d", "open")],
                               "session_id string, dt string")
    touched = archive.write_batch(df, 5, table.as_uri(), staging.as_uri(), ("dt",), owner="q1", small=True,
                                  aside={"open": state.as_uri()})
    assert touched == [("2026-11-01",), ("2026-11-02",)]  # the table's partitions only
    assert sorted(listing(table)) == ["dt=2026-11-01/batch-0000000005-q1.parquet",
                                      "dt=2026-11-02/batch-0000000005-q1.parquet"]
    assert sorted(listing(state)) == ["batch-0000000005.parquet"]
    assert sorted(r.session_id for r in spark.read.parquet(str(state)).collect()) == ["c", "d"]
    assert sorted(r.session_id for r in spark.read.parquet(str(table)).collect()) == ["a", "b"]
