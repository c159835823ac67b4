"""Time of the daily batch job over 1M and 10M events per day on this machine.

Usage: python -m bench.daily_job [--events 1000000] [--scale 10] [--cores 2]

1. Generates ``--events`` collector-enriched events of one day of the three
   simulated sites (the simulator's generator, load mode), parses them with
   the streaming job's own parser and writes them as ``raw_events`` (dt/hr) in
   a temporary warehouse.
2. Builds a ``--scale`` times larger day from it: each copy gets its own user,
   session and event ids, so sessions, users and funnels scale too.
3. For each size, baseline then target, in the same Spark session
   (``local[--cores]``; spark-submit's JVM start, ~10 s, is not included):
   - baseline: one scan of the day — read every column, count per app and hour;
   - target: ``clickstream_daily.run_day`` — sessions, funnels, paths and every
     daily table, written as the job writes them.
   Target: ≤ 90 s for 10M events on 2 cores, with close to linear scaling.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import orjson

from bench.report import Figure, Plot, record
from clickstream.settings import REPO_ROOT, get_settings

DAY = date(2026, 11, 2)
TARGET_S = 90.0


def _session(cores: int):
    from pyspark.sql import SparkSession

    # The parser's Python workers need this environment (pyarrow, orjson) and the repo's packages.
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))

    from clickstream.batch.io import use_local_parallelism

    spark = (SparkSession.builder.master(f"local[{cores}]").appName("bench-daily")
             .config("spark.driver.memory", "8g").config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())  # fmt: skip
    use_local_parallelism(spark)  # as the job's main() does
    return spark


def write_day(spark, settings, events: int, work: Path) -> int:
    """Generate one day of events into raw_events; return how many were archived."""
    from pyspark.sql import functions as F

    from clickstream.streaming.events import transform_parse, valid_events
    from simulators.load import site_events

    lines = work / "events.jsonl"
    with lines.open("wb") as out:
        for event in site_events(DAY, events, "bench-daily"):
            out.write(orjson.dumps(event) + b"\n")
    parsed = transform_parse(spark.read.text(str(lines)).withColumn("value", F.col("value")))
    valid = valid_events(parsed)
    valid.write.mode("overwrite").partitionBy("dt", "hr").parquet(settings.table_path("raw_events"))
    return spark.read.parquet(settings.table_path("raw_events")).count()


def scale_day(spark, source, target, scale: int) -> int:
    """Write scale copies of a raw day with distinct users, sessions and event ids; return the count."""
    from pyspark.sql import functions as F

    raw = spark.read.parquet(source.table_path("raw_events"))
    copies = spark.range(scale).withColumnRenamed("id", "_copy")
    suffix = F.concat(F.lit("-"), F.col("_copy").cast("string"))
    scaled = raw.crossJoin(copies).select(
        *[F.concat(F.col(c), suffix).alias(c) if c in ("user_id", "session_id", "event_id") else F.col(c)
          for c in raw.columns])  # fmt: skip
    scaled.write.mode("overwrite").partitionBy("dt", "hr").parquet(target.table_path("raw_events"))
    return spark.read.parquet(target.table_path("raw_events")).count()


def baseline_scan(spark, settings) -> float:
    """Time one full read of the day's raw events (every column), counted per app and hour."""
    from pyspark.sql import functions as F

    start = time.perf_counter()
    raw = spark.read.parquet(settings.table_path("raw_events"))
    raw.groupBy("app_id", "hr").agg(*[F.count(c) for c in raw.columns]).collect()
    return time.perf_counter() - start


def size_parser(doc: str) -> argparse.ArgumentParser:
    """The command line of the benchmarks that build a generated day: --events, --scale, --cores."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events generated")
    parser.add_argument("--scale", type=int, default=10, help="copies of them in the large day")
    parser.add_argument("--cores", type=int, default=2, help="Spark local cores")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Generate, then time the daily job against a scan baseline at two sizes."""
    args = size_parser(__doc__).parse_args(argv)
    from clickstream.batch.jobs import run_day

    work = Path(tempfile.mkdtemp(prefix="bench-daily-"))
    try:
        spark = _session(args.cores)
        small = dataclasses.replace(get_settings(), warehouse_uri=(work / "small").as_uri())
        large = dataclasses.replace(get_settings(), warehouse_uri=(work / "large").as_uri())
        t = time.perf_counter()
        n_small = write_day(spark, small, args.events, work)
        n_large = scale_day(spark, small, large, args.scale)
        print(f"generated {n_small:,} and {n_large:,} events of {DAY} in {time.perf_counter() - t:.0f} s")
        results = []
        for settings, n in ((small, n_small), (large, n_large)):
            scan = baseline_scan(spark, settings)
            start = time.perf_counter()
            run_day(spark, settings, DAY)
            daily = time.perf_counter() - start
            results.append((n, scan, daily))
        print(f"\n{'events':>12} | {'scan baseline':>13} | {'daily job':>9} | {'events/s':>9} | vs scan")
        for n, scan, daily in results:
            print(f"{n:>12,} | {scan:>11.1f} s | {daily:>7.1f} s | {n / daily:>9,.0f} | {daily / scan:.1f}x")
        (n1, _, d1), (n2, _, d2) = results
        print(f"\nscaling: {n2 / n1:.1f}x the events took {d2 / d1:.1f}x the time "
              f"(linear would be {n2 / n1:.1f}x)")
        verdict = "met" if d2 <= TARGET_S else "NOT met"
        print(f"target: {n_large:,} events in <= {TARGET_S:.0f} s on {args.cores} cores: "
              f"{verdict} ({d2:.1f} s)")
        (_, s1, _), (_, s2, _) = results
        record("daily_job", "Daily batch job", "python -m bench.daily_job", [
            Figure(f"daily job, {n1:,} events", d1, "s", s1, "scan of the day"),
            Figure(f"daily job, {n2:,} events", d2, "s", s2, "scan of the day", f"≤ {TARGET_S:.0f} s",
                   d2 <= TARGET_S, "10M events in ~17 min (streaming)"),
            Figure("time ratio for the 10x larger day", d2 / d1, "x", target="close to linear (10x)"),
        ], Plot("Daily job vs a scan of the same day", "seconds", [f"{n1:,} events", f"{n2:,} events"],
                {"scan baseline": [round(s1, 1), round(s2, 1)], "daily job": [round(d1, 1), round(d2, 1)]}))
        spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
