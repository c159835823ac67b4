"""Time of the daily batch job over 1M and 10M events per day on this machine, as the DAG runs it.

Usage: python -m bench.daily_job [--events 1000000] [--scale 10] [--cores 2]

1. Generates ``--events`` collector-enriched events of one day of the three
   simulated sites (the simulator's generator, load mode), parses them with
   the streaming job's own parser and writes them as ``raw_events`` (dt/hr) in
   a temporary warehouse (setup, in this process; not timed).
2. Builds a ``--scale`` times larger day from it: each copy gets its own user,
   session and event ids, so sessions, users and funnels scale too.
3. For each size, baseline then target, each a spark-submit of its own, wall
   time from the command's start to its exit (JVM start included):
   - target: the command the daily DAG's ``daily_job`` task builds (its
     spark_default connection, its 2 GB driver, its jars and conf, its default
     params), for ``local[--cores]``;
   - baseline: the same command running a scan of the day instead — read every
     column, count per app and hour — so JVM start and Spark's own start are in
     both.
   Target: ≤ 60 s for 10M events on 2 cores, with close to linear scaling.
   Left out: HiveServer2 registering the partitions and the reports (their own
   tasks), YARN (``python -m bench.cluster_mode`` measures cluster mode).
"""

from __future__ import annotations

import argparse
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
TARGET_S = 60.0
SCAN_JOB = """\
import sys
from pyspark.sql import SparkSession, functions as F
spark = SparkSession.builder.appName("bench-daily-scan").getOrCreate()
raw = spark.read.parquet(sys.argv[1])
raw.groupBy("app_id", "hr").agg(*[F.count(c) for c in raw.columns]).collect()
spark.stop()
"""


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

    from bench.load import site_events
    from clickstream.streaming.events import transform_parse, valid_events

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


def dag_command(cores: int) -> list[str]:
    """Return the spark-submit command the daily DAG's ``daily_job`` task builds, for DAY, on local[cores]."""
    from embedded.environment import VENV_BIN, airflow_env, spark_env

    settings = get_settings()
    os.environ.update(airflow_env(settings))  # spark_default and the DAG's settings, as the stack sets them
    os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"  # spark-submit, as on the stack's PATH
    os.environ.update(spark_env(os.environ))
    os.environ["AIRFLOW_CONN_SPARK_DEFAULT"] = f'{{"conn_type": "spark", "host": "local[{cores}]"}}'
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "clickstream_daily.py")).dags["clickstream_daily"]
    task = dag.get_task("daily_job")
    hook = task._get_hook()
    hook._name = f"clickstream-daily-{DAY:%Y%m%d}"  # the task renders it from the run's interval
    params = {name: dag.params[name] for name in ("spill_hours", "funnel_window_minutes", "top_paths")}
    hook._application_args = ["--day", DAY.isoformat(), "--spill-hours", str(params["spill_hours"]),
                              "--funnel-window-minutes", str(params["funnel_window_minutes"]),
                              "--top-paths", str(params["top_paths"])]
    return hook._build_spark_submit_command(task.application)


def timed_submit(command: list[str], settings, log: Path) -> float:
    """Run one spark-submit against settings' warehouse; return its wall time from start to exit."""
    import subprocess

    env = {**os.environ, "CLICKSTREAM_WAREHOUSE_URI": settings.warehouse_uri,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    with log.open("ab") as out:
        subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - start


def scan_command(daily: list[str], settings, work: Path) -> list[str]:
    """The daily job's command with a scan of the day as its application (same JVM, driver, conf)."""
    script = work / "scan_day.py"
    script.write_text(SCAN_JOB)
    application = daily.index(next(arg for arg in daily if arg.endswith("clickstream_daily.py")))
    return [*daily[:application], str(script), settings.table_path("raw_events")]


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
    work = Path(tempfile.mkdtemp(prefix="bench-daily-"))
    try:
        spark = _session(args.cores)
        small = get_settings().replace(warehouse_uri=(work / "small").as_uri())
        large = get_settings().replace(warehouse_uri=(work / "large").as_uri())
        t = time.perf_counter()
        n_small = write_day(spark, small, args.events, work)
        n_large = scale_day(spark, small, large, args.scale)
        print(f"generated {n_small:,} and {n_large:,} events of {DAY} in {time.perf_counter() - t:.0f} s")
        spark.stop()  # the timed runs are spark-submits of their own, as the DAG's task runs the job
        command = dag_command(args.cores)
        print("daily job:", " ".join(command))
        log = work / "spark-submit.log"
        results = []
        for settings, n in ((small, n_small), (large, n_large)):
            scan = timed_submit(scan_command(command, settings, work), settings, log)
            job = timed_submit(command, settings, log)
            results.append((n, scan, job))
        print(f"\n{'events':>12} | {'scan baseline':>13} | {'daily job':>9} | {'events/s':>9} | vs scan"
              "   (each a spark-submit, JVM start included)")
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
            Figure(f"daily job, {n1:,} events (spark-submit, DAG settings)", d1, "s", s1, "scan of the day"),
            Figure(f"daily job, {n2:,} events (spark-submit, DAG settings)", d2, "s", s2, "scan of the day",
                   f"≤ {TARGET_S:.0f} s", d2 <= TARGET_S, "10M events in ~17 min (streaming)"),
            Figure("time ratio for the 10x larger day", d2 / d1, "x", target="close to linear (10x)"),
        ], Plot("Daily job vs a scan of the same day", "seconds", [f"{n1:,} events", f"{n2:,} events"],
                {"scan baseline": [round(s1, 1), round(s2, 1)], "daily job": [round(d1, 1), round(d2, 1)]}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
