"""The recent windows the alert rules judge: merged across batches, and the same after a restart."""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import functions as F

from clickstream.streaming.metrics import metric_parts
from clickstream.streaming.recent import RecentWindows
from tests.support.streaming_frames import at, ev, frame


def views(hms: str, n: int, page: str = "/home", ms: int = 100) -> list[dict]:
    return [ev(hms, f"u_{hms}_{i}", page, response_time_ms=ms + i) for i in range(n)]


def judged(rows: list[dict]) -> dict[tuple, tuple]:
    return {(r["window_start"].strftime("%H:%M"), r["dim"], r["key"]):
            (r["events"], r["users"], r["responses"], r["response_p95_ms"]) for r in rows}


BATCHES = [views("12:00:10", 10), views("12:00:40", 10, ms=1000) + views("12:01:05", 3, "/docs"),
           views("12:01:30", 2, "/docs")]


SITE_AND_PAGE = {"app": timedelta(minutes=10), "page": timedelta(minutes=10)}


def test_a_window_s_values_merge_every_batch_that_touched_it(spark):
    recent = RecentWindows(SITE_AND_PAGE)
    first = judged(recent.update(metric_parts(frame(spark, BATCHES[0]))))
    assert first == {("12:00", "app", "*"): (10, 10, 10, 109.0),
                     ("12:00", "page", "/home"): (10, 10, 10, 109.0)}
    second = judged(recent.update(metric_parts(frame(spark, BATCHES[1]))))
    # Only the windows the batch touched, with every batch's events: 20 views, p95 the 19th value.
    assert second == {("12:00", "app", "*"): (20, 20, 20, 1008.0),
                      ("12:00", "page", "/home"): (20, 20, 20, 1008.0),
                      ("12:01", "app", "*"): (3, 3, 3, 102.0), ("12:01", "page", "/docs"): (3, 3, 3, 102.0)}
    third = judged(recent.update(metric_parts(frame(spark, BATCHES[2]))))
    assert third == {("12:01", "app", "*"): (5, 5, 5, 102.0), ("12:01", "page", "/docs"): (5, 5, 5, 102.0)}


def test_windows_older_than_the_horizon_are_forgotten(spark):
    recent = RecentWindows(SITE_AND_PAGE)
    recent.update(metric_parts(frame(spark, views("12:00:10", 3))))
    recent.update(metric_parts(frame(spark, views("12:11:00", 1))))
    assert {k[0] for k in recent.merged} == {at("12:11:00").replace(tzinfo=None)}
    # A late event for a forgotten window is not judged on a part of its values.
    assert recent.update(metric_parts(frame(spark, views("12:00:20", 1)))) == []


def test_a_restart_reads_back_the_batches_before_the_one_it_runs(spark, tmp_path):
    path = str(tmp_path / "live_metrics_parts")
    for batch_id, rows in enumerate(BATCHES):
        parts = metric_parts(frame(spark, rows)).withColumn("batch_id", F.lit(batch_id).cast("long"))
        parts.write.mode("append").partitionBy("dt").parquet(path)
    running = RecentWindows()
    for rows in BATCHES[:2]:
        running.update(metric_parts(frame(spark, rows)))
    # Batch 2 was written, then the application died before its commit: the restart replays it.
    restarted = RecentWindows()
    restarted.restore(spark, path, batch_id=2)
    assert restarted.merged.keys() == running.merged.keys()
    replayed = judged(restarted.update(metric_parts(frame(spark, BATCHES[2]))))
    assert replayed == judged(running.update(metric_parts(frame(spark, BATCHES[2]))))


def test_each_breakdown_keeps_its_own_horizon(spark):
    recent = RecentWindows({"app": timedelta(minutes=60), "page": timedelta(minutes=15)})
    recent.update(metric_parts(frame(spark, views("12:00:10", 3))))
    recent.update(metric_parts(frame(spark, views("12:20:00", 1))))
    kept = sorted((k[0].strftime("%H:%M"), k[3]) for k in recent.merged)
    assert kept == [("12:00", "app"), ("12:20", "app"), ("12:20", "page")]


def test_merging_only_the_minutes_a_batch_touched_gives_the_same_values(spark):
    everything, touched_only = RecentWindows(), RecentWindows()
    late = views("12:00:50", 2) + views("12:02:01", 1)  # 12:00 again, with a new minute
    for rows in [views("12:00:10", 4), views("12:01:10", 3, "/docs"), late]:
        frames = frame(spark, rows)
        minutes = (min(r["event_ts"] for r in rows), max(r["event_ts"] for r in rows))
        full = judged(everything.update(metric_parts(frames)))
        assert judged(touched_only.update(metric_parts(frames), minutes)) == full
    assert everything.merged == touched_only.merged
    assert full[("12:00", "app", "*")][0] == 6  # the late batch's 12:00 events merged with the first batch's
