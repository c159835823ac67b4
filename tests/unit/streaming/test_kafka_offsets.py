"""Offsets in the topic readers' checkpoints, as Spark writes them, checked against the broker's log."""

from __future__ import annotations

import json

from clickstream.streaming.archive import planned_offsets
from clickstream.streaming.kafka_offsets import lost_offsets_error, retire_python_source_checkpoints

METADATA = '{"batchWatermarkMs":0,"batchTimestampMs":1764720000000,"conf":{}}'


def checkpoint(root, name: str, entries: dict[int, dict]) -> str:
    """Write an offsets log as Spark does: one file per batch, "v1", the metadata, the source's offsets."""
    offsets = root / name / "offsets"
    offsets.mkdir(parents=True)
    for batch, source in entries.items():
        (offsets / str(batch)).write_text(f"v1\n{METADATA}\n{json.dumps(source)}")
    (offsets / ".3.0b1c.tmp").write_text("v1\n")  # a half-written entry of a killed run: not read
    return (root / name).as_uri()


def test_the_newest_entry_is_what_the_query_planned(spark, tmp_path):
    location = checkpoint(tmp_path, "ingest", {
        0: {"events": {"0": 10, "1": 4}}, 1: {"events": {"0": 25, "1": 9}},
        10: {"events": {"0": 40, "1": 9}}})
    assert planned_offsets(spark, location) == {"events": {"0": 40, "1": 9}}
    assert planned_offsets(spark, (tmp_path / "never-ran").as_uri()) == {}


def test_a_reset_log_and_retention_are_named_with_their_remedy(spark, tmp_path):
    ingest = checkpoint(tmp_path, "ingest", {7: {"events": {"0": 40, "1": 9}}})
    live = checkpoint(tmp_path, "live", {5: {"events": {"0": 38, "1": 9}}})
    assert lost_offsets_error(spark, [ingest, live], {"events": {0: (0, 40), 1: (0, 12)}}) is None
    reset = lost_offsets_error(spark, [ingest, live], {"events": {0: (0, 3), 1: (0, 3)}})
    assert reset.startswith("events partition 0: the application has read up to offset 40, but the broker's "
                            "log ends at 3; events partition 1: the application has read up to offset 9, but "
                            "the broker's log ends at 3; events partition 0: the application has read up to "
                            "offset 38")
    assert reset.endswith(f"To read the new log from its start, delete the checkpoints {ingest} and {live} "
                          "while the application is stopped")
    aged = lost_offsets_error(spark, [ingest], {"events": {0: (50, 90), 1: (0, 12)}})
    assert aged.startswith("events partition 0: the application has read up to offset 40, but the broker's "
                           "log now starts at 50. Retention deleted records")
    assert "--no-fail-on-data-loss" in aged


def test_checkpoints_of_the_retired_python_source_are_moved_aside(spark, tmp_path):
    old = checkpoint(tmp_path, "ingest", {3: {"events": {"id": "Zx1", "offsets": {"0": 12}}}})
    new = checkpoint(tmp_path, "live", {3: {"events": {"0": 12}}})
    assert retire_python_source_checkpoints(spark, [old, new]) == [f"{old}.python-source"]
    assert not (tmp_path / "ingest").exists()
    assert (tmp_path / "ingest.python-source" / "offsets" / "3").exists()
    assert planned_offsets(spark, new) == {"events": {"0": 12}}
