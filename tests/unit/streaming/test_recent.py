"""The recent windows the alert rules judge: merged across batches, and the same after a restart."""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import functions as F

from clickstream.streaming.metrics import finish, merge, metric_parts
from clickstream.streaming.recent import RecentWindows
from tests.support.streaming_frames import at, ev, frame, parts


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
    first = judged(recent.update(parts(spark, BATCHES[0])))
    assert first == {("12:00", "app", "*"): (10, 10, 10, 109.0),
                     ("12:00", "page", "/home"): (10, 10, 10, 109.0)}
    second = judged(recent.update(parts(spark, BATCHES[1])))
    # Only the windows the batch touched, with every batch's events: 20 views, p95 the 19th value.
    assert second == {("12:00", "app", "*"): (20, 20, 20, 1008.0),
                      ("12:00", "page", "/home"): (20, 20, 20, 1008.0),
                      ("12:01", "app", "*"): (3, 3, 3, 102.0), ("12:01", "page", "/docs"): (3, 3, 3, 102.0)}
    third = judged(recent.update(parts(spark, BATCHES[2])))
    assert third == {("12:01", "app", "*"): (5, 5, 5, 102.0), ("12:01", "page", "/docs"): (5, 5, 5, 102.0)}


def test_windows_older_than_the_horizon_are_forgotten(spark):
    recent = RecentWindows(SITE_AND_PAGE)
    recent.update(parts(spark, views("12:00:10", 3)))
    recent.update(parts(spark, views("12:11:00", 1)))
    assert {k[0] for k in recent.merged} == {at("12:11:00").replace(tzinfo=None)}
    # A late event for a forgotten window is not judged on a part of its values.
    assert recent.update(parts(spark, views("12:00:20", 1))) == []


def test_a_restart_reads_back_the_batches_before_the_one_it_runs(spark, tmp_path):
    path = str(tmp_path / "live_metrics_parts")
    for batch_id, rows in enumerate(BATCHES):
        written = metric_parts(frame(spark, rows)).withColumn("batch_id", F.lit(batch_id).cast("long"))
        written.write.mode("append").partitionBy("dt", "hr").parquet(path)
    running = RecentWindows()
    for rows in BATCHES[:2]:
        running.update(parts(spark, rows))
    # Batch 2 was written, then the application died before its commit: the restart replays it.
    restarted = RecentWindows()
    restarted.restore(spark, path, written.schema, batch_id=2)
    assert restarted.merged.keys() == running.merged.keys()
    replayed = judged(restarted.update(parts(spark, BATCHES[2])))
    assert replayed == judged(running.update(parts(spark, BATCHES[2])))


def test_a_restart_reads_the_newest_two_days_only(spark, tmp_path):
    """Every earlier day stays unread: here a day whose only file is not Parquet at all."""
    path = tmp_path / "live_metrics_parts"
    written = metric_parts(frame(spark, BATCHES[0])).withColumn("batch_id", F.lit(0).cast("long"))
    written.write.partitionBy("dt", "hr").parquet(str(path))
    (newest,) = {row.dt for row in written.select("dt").distinct().collect()}
    for back in (2, 30):  # days before the newest: the day before it may hold a window of the last hour
        day = date.fromisoformat(newest) - timedelta(days=back)
        (path / f"dt={day}" / "hr=0").mkdir(parents=True)
        (path / f"dt={day}" / "hr=0" / "batch-0000000000.parquet").write_text("not a Parquet file")
    restarted = RecentWindows(SITE_AND_PAGE)
    restarted.restore(spark, str(path), written.schema, batch_id=1)
    running = RecentWindows(SITE_AND_PAGE)
    assert judged(restarted.finished()) == judged(running.update(parts(spark, BATCHES[0])))


def test_partials_written_before_the_double_sketches_restore_without_quantiles(spark, tmp_path):
    """An upgraded table: files without the KLL columns of doubles read them as null, merged as empty."""
    path = str(tmp_path / "live_metrics_parts")
    old = metric_parts(frame(spark, BATCHES[0])).withColumn("batch_id", F.lit(0).cast("long"))
    old.drop("dwell_ms_sketch", "response_ms_sketch").write.partitionBy("dt", "hr").parquet(path)
    restarted = RecentWindows(SITE_AND_PAGE)
    restarted.restore(spark, path, old.schema, batch_id=1)
    assert judged(restarted.finished()) == {("12:00", "app", "*"): (10, 10, 10, None),
                                            ("12:00", "page", "/home"): (10, 10, 10, None)}
    after = judged(restarted.update(parts(spark, views("12:00:30", 1, ms=7))))
    assert after[("12:00", "app", "*")] == (11, 11, 11, 7.0)  # the new partials' values only


def test_each_breakdown_keeps_its_own_horizon(spark):
    recent = RecentWindows({"app": timedelta(minutes=60), "page": timedelta(minutes=15)})
    recent.update(parts(spark, views("12:00:10", 3)))
    recent.update(parts(spark, views("12:20:00", 1)))
    kept = sorted((k[0].strftime("%H:%M"), k[3]) for k in recent.merged)
    assert kept == [("12:00", "app"), ("12:20", "app"), ("12:20", "page")]


def test_the_driver_finishes_a_window_as_spark_s_view_does(spark):
    """The store's values (merged and finished in Python) equal the view's (merged and finished in Spark)
    for the same partials: HLL estimates, KLL quantiles with Java's search, every count and ratio."""
    import random

    rnd = random.Random(7)
    batches = [[ev(f"12:0{rnd.randint(0, 2)}:{rnd.randint(0, 59):02d}", f"u{rnd.randint(0, 400)}",
                   rnd.choice(["/home", "/docs", "/pricing"]), response_time_ms=rnd.randint(1, 3000),
                   http_status=rnd.choice([200, 200, 200, 503]))
                for _ in range(rnd.choice([1, 40, 300]))] for _ in range(6)]
    recent = RecentWindows(SITE_AND_PAGE)
    batch_parts = [parts(spark, events) for events in batches]
    for batch in batch_parts:
        recent.update(batch)
    frames = [metric_parts(frame(spark, events)) for events in batches]
    union = frames[0]
    for more in frames[1:]:
        union = union.unionByName(more)
    in_spark = {tuple(r[k] for k in ("window_start", "dim", "key")): r.asDict()
                for r in finish(merge(union)).collect() if r["dim"] in SITE_AND_PAGE}
    in_python = {(r["window_start"], r["dim"], r["key"]): r for r in recent.finished()}
    assert in_python.keys() == in_spark.keys() and len(in_spark) >= 8
    for key, expected in in_spark.items():
        got = in_python[key]
        for name, value in expected.items():
            if name.startswith(("time_on_page_p", "response_p")) and got["responses"] > 200:
                continue  # past the sketch's capacity its compaction is random: the same bound, not the value
            assert got[name] == value, (key, name)
