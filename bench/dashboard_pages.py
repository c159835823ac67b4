"""Render time of every dashboard page over a warehouse holding 10M events.

Usage: python -m bench.dashboard_pages [--events 1000000] [--scale 10] [--cores 2]

1. Builds a private warehouse on a private data directory: ``--events`` generated
   events of one day scaled ``--scale`` times (bench/daily_job.py), then every
   table the pages read, the way the platform builds them: the hourly job's
   transforms for the 24 hours, the daily job (``run_day``), the live metrics and
   active users (the streaming job's transforms, run over the whole day at once),
   and the streaming job's progress rows.
2. Starts the embedded HiveServer2 on that directory (free ports), creates the
   tables with the platform's DDL and registers their partitions.
3. For each page, with Streamlit's AppTest in this process: cold (the query
   cache emptied, so every query goes to HiveServer2) and warm (cached), each
   the median of ``--repeat`` renders of that page alone (AppTest's first run of
   the default page is not counted). Baseline, same run: one ``SELECT 1``
   round trip through HiveServer2, and a rerun of a page with no query.
Target: every page renders in <= 2 s (cold) over 10M events.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import Figure, Plot, record
from clickstream.settings import REPO_ROOT
from embedded.ports import private_ports

TARGET_S = 2.0
PAGES = ("live", "traffic", "sections", "navigation", "geography", "performance", "sessions", "pipeline")


def build_tables(spark, settings, day) -> None:
    """Write the hourly, daily, live and progress tables of the day, as the platform's jobs do."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    from clickstream.batch.hourly import transform_hourly_pages, transform_hourly_sections
    from clickstream.batch.io import overwrite_partition
    from clickstream.batch.jobs import run_day
    from clickstream.streaming.metrics import transform_active_users, transform_metrics
    from clickstream.streaming.progress import PROGRESS_SCHEMA

    raw = spark.read.parquet(settings.table_path("raw_events"))
    for hr in range(24):
        of_hour = raw.where(F.col("hr") == hr)
        overwrite_partition(transform_hourly_pages(of_hour), settings, "hourly_pages", ["app_id", "page"],
                            dt=day.isoformat(), hr=hr)
        overwrite_partition(transform_hourly_sections(of_hour), settings, "hourly_sections",
                            ["app_id", "page", "section"], dt=day.isoformat(), hr=hr)
    run_day(spark, settings, day)
    versioned = F.lit(0).cast("long").alias("batch_id")
    transform_metrics(raw).select("*", versioned).write.mode("overwrite").partitionBy("dt").parquet(
        settings.table_path("live_metrics"))
    transform_active_users(raw).select("*", versioned).write.mode("overwrite").partitionBy("dt").parquet(
        settings.table_path("live_active_users"))
    # A day of progress rows: four queries reporting every second, as the streaming job writes them.
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    rows = [{"query": q, "run_id": "bench", "batch_id": i, "ts": start + timedelta(seconds=i),
             "input_rows": 120, "input_rps": 120.0, "processed_rps": 900.0, "batch_ms": 800,
             "watermark": start + timedelta(seconds=i - 120), "offsets_behind": 0, "state_rows": 5000,
             "idle": False, "durations": "{}"}
            for q in ("ingest", "live_metrics", "live_active_users", "live_paths")
            for i in range(0, 86400, 4)]
    folder = Path(settings.table_path("stream_progress").removeprefix("file://")) / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=PROGRESS_SCHEMA), folder / "progress.parquet")


def register(spark, settings) -> None:
    """Create every table with the platform's DDL and register the partitions on disk."""
    from types import SimpleNamespace

    from clickstream.hive import execute, render_hql, split_statements
    from clickstream.streaming.app import ensure_live_tables
    from clickstream.streaming.hive import HivePartitions

    execute(settings, *split_statements(render_hql("create_tables.hql", settings)), database=None)
    hive = HivePartitions(settings)
    hive.ensure_tables()
    ensure_live_tables(SimpleNamespace(settings=settings, hive=hive),
                       spark.read.parquet(settings.table_path("live_metrics")).drop("batch_id"),
                       spark.read.parquet(settings.table_path("live_active_users")).drop("batch_id"))
    tables = [r[1] for r in execute(settings, "SHOW TABLES") if not r[1].endswith("_latest")]
    execute(settings, *[f"MSCK REPAIR TABLE {t}" for t in tables])


def timed_render(page: str, *, cold: bool) -> float:
    """Seconds to render one page, as a user's click on it costs on a running dashboard.

    AppTest always runs the default page (Live) first, so that run is not timed: the
    page is opened, the query cache emptied when cold, and only its own run is timed.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(REPO_ROOT / "dashboard" / "streamlit_app.py"), default_timeout=120)
    app.run()
    if page != "live":
        app.switch_page(f"app_pages/{page}.py")
    if cold:
        st.cache_data.clear()
    start = time.perf_counter()
    app.run()
    elapsed = time.perf_counter() - start
    if app.exception or app.error:
        raise RuntimeError(f"{page}: {[e.value for e in [*app.exception, *app.error]]}")
    return elapsed


def empty_render() -> float:
    """Seconds of a rerun of a page with no query: what Streamlit itself costs."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_string("import streamlit as st\nst.title('baseline')")
    app.run()
    start = time.perf_counter()
    app.run()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """Build the 10M-event warehouse, start HiveServer2 on it, and time every page."""
    from bench.daily_job import size_parser

    parser = size_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="renders per page and mode (median)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    os.environ["CLICKSTREAM_DATA_DIR"] = str(work / "data")
    os.environ.pop("CLICKSTREAM_WAREHOUSE_URI", None)
    os.environ.pop("CLICKSTREAM_HIVE_DATABASE", None)
    os.environ.update(private_ports())
    from bench.daily_job import DAY, _session, scale_day, write_day
    from clickstream.hive import execute
    from clickstream.settings import get_settings
    from embedded.stack import Stack

    settings = get_settings()
    stack = Stack(settings)
    try:
        t = time.perf_counter()
        spark = _session(args.cores)
        small = dataclasses.replace(settings, warehouse_uri=(work / "small").as_uri())
        write_day(spark, small, args.events, work)
        events = scale_day(spark, small, settings, args.scale)
        build_tables(spark, settings, DAY)
        shutil.rmtree(work / "small", ignore_errors=True)
        print(f"built {events:,} events of {DAY} and every table in {time.perf_counter() - t:.0f} s")
        stack.up(["hiveserver2"])
        register(spark, settings)
        spark.stop()
        select_one = []
        for _ in range(5):
            s = time.perf_counter()
            execute(settings, "SELECT 1")
            select_one.append(time.perf_counter() - s)
        empty = statistics.median(empty_render() for _ in range(args.repeat))
        results = []
        for page in PAGES:
            timed_render(page, cold=True)  # the first render of each page warms HiveServer2's plan caches
            cold = [timed_render(page, cold=True) for _ in range(args.repeat)]
            warm = statistics.median(timed_render(page, cold=False) for _ in range(args.repeat))
            results.append((page, statistics.median(cold), warm))
        print(f"\nbaseline: SELECT 1 through HiveServer2 {statistics.median(select_one) * 1000:.0f} ms; "
              f"a page with no query {empty * 1000:.0f} ms")
        print(f"\n{'page':<12} | {'cold':>7} | {'warm':>7} | target <= {TARGET_S:.0f} s")
        for page, cold, warm in results:
            verdict = "met" if cold <= TARGET_S else "NOT met"
            print(f"{page:<12} | {cold:>5.2f} s | {warm:>5.2f} s | {verdict}")
        worst = max(cold for _, cold, _ in results)
        print(f"\ntarget: every page <= {TARGET_S:.0f} s over {events:,} events: "
              f"{'met' if worst <= TARGET_S else 'NOT met'} (slowest {worst:.2f} s)")
        baseline = statistics.median(select_one)
        record("dashboard_pages", f"Dashboard page render, {events:,} events",
               "python -m bench.dashboard_pages", [
            *[Figure(f"{page} page, cold cache", cold, "s", empty, "a page with no query",
                     f"≤ {TARGET_S:.0f} s", cold <= TARGET_S) for page, cold, _ in results],
            *[Figure(f"{page} page, warm cache", warm, "s") for page, _, warm in results],
            Figure("SELECT 1 through HiveServer2", baseline * 1000, "ms"),
        ], Plot("Page render time", "seconds", [page for page, _, _ in results],
                {"cold": [round(c, 2) for _, c, _ in results], "warm": [round(w, 2) for _, _, w in results]}))
    finally:
        stack.down()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
