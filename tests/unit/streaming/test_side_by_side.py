"""The batch's writes side by side: they overlap, keep the batch's Spark properties, and a failure fails
the batch only once every write has ended."""

from __future__ import annotations

import threading

import pytest

from clickstream.streaming.side_by_side import SideBySide


def test_steps_run_at_the_same_time_and_report_their_time():
    both = threading.Barrier(2, timeout=10)   # each step waits for the other: one after the other would fail

    took = SideBySide(first=both.wait, second=both.wait).run()

    assert set(took) == {"first", "second"}
    assert all(ms >= 0 for ms in took.values())


def test_a_failure_is_raised_after_every_step_has_ended():
    ended = threading.Event()

    def fails():
        raise OSError("disk full")

    def slow():
        ended.wait(0.5)
        ended.set()

    with pytest.raises(OSError, match="disk full"):
        SideBySide(archive=fails, paths=slow).run()
    assert ended.is_set()


def test_steps_see_the_batch_s_spark_properties(spark):
    # foreachBatch runs with the query's properties; the files' names are made from its id.
    seen = []
    context = spark.sparkContext
    context.setLocalProperty("sql.streaming.queryId", "1f2e3d4c-0000")
    try:
        SideBySide(write=lambda: seen.append(context.getLocalProperty("sql.streaming.queryId"))).run()
    finally:
        context.setLocalProperty("sql.streaming.queryId", None)
    assert seen == ["1f2e3d4c-0000"]
