"""A class-data-sharing archive of Spark's JVM, so every spark-submit of the embedded stack starts sooner.

Each spark-submit here (the batch jobs Airflow submits, the streaming application and its restarts,
HiveServer2, the tests' jobs) starts a JVM that loads and verifies thousands of classes from Spark's
jars. Java 17 can map them from an archive that a training run wrote at its exit
(``-XX:ArchiveClassesAtExit``, JEP 350): on 2 cores a trivial job went from 17 s to 11 s, the daily
job over a 4,500-event day from 41 s to 36 s (2026-12-01). ``make install`` builds it once per
virtualenv: ``python -m embedded.cds``; the training run below exercises what the jobs do
(Parquet, shuffles, windows, aggregations, joins, Arrow batches to Python workers).

:func:`~embedded.environment.stack_env` then passes ``-XX:SharedArchiveFile`` to every
spark-submit through ``SPARK_SUBMIT_OPTS``. An archive that no longer matches the jars or the JDK
(an upgrade without ``make install``) is ignored by the JVM with one warning on stderr; nothing
fails. Production images do not use it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ARCHIVE = Path(sys.prefix) / "share" / "clickstream" / "spark-classes.jsa"
# JVM warnings (such as a stale archive) go to stderr, never into a job's stdout.
_LOGGING = "-Xlog:disable -Xlog:all=warning:stderr"


def submit_opts() -> str:
    """The JVM options that map the archive, or "" when it was not built."""
    return f"-XX:SharedArchiveFile={ARCHIVE} -Xshare:auto {_LOGGING}" if ARCHIVE.exists() else ""


def _train() -> None:
    from pyspark.sql import SparkSession, Window
    from pyspark.sql import functions as F

    spark = (SparkSession.builder.appName("clickstream-cds-training").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2").getOrCreate())  # fmt: skip
    events = spark.range(20_000).select(
        (F.col("id") % 7).cast("string").alias("user"), F.col("id").alias("n"),
        F.timestamp_seconds(F.col("id") * 13).alias("ts"), F.rand(1).alias("x"))  # fmt: skip
    with tempfile.TemporaryDirectory() as work:
        events.withColumn("hr", F.hour("ts")).write.partitionBy("hr").parquet(f"{work}/events")
        read = spark.read.parquet(f"{work}/events")
        by_user = Window.partitionBy("user").orderBy("ts", "n")
        seconds = F.col("ts").cast("long")
        sessions = read.withColumn("gap", seconds - F.lag(seconds).over(by_user))
        sessions = sessions.withColumn("start", F.max(F.when(F.col("gap") > 600, F.col("ts"))).over(
            by_user.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
        totals = sessions.groupBy("user", "start").agg(
            F.count("*"), F.approx_count_distinct("n"), F.percentile_approx("x", [0.5, 0.95]),
            F.min(F.struct("ts", "n")), F.collect_list("hr"))  # fmt: skip
        totals.join(read.groupBy("user").agg(F.sum("x")), "user").orderBy("user").repartition(1) \
            .write.mode("overwrite").parquet(f"{work}/totals")
        read.mapInArrow(lambda batches: batches, read.schema).count()
        spark.read.parquet(f"{work}/totals").collect()
    spark.stop()


def build(archive: Path = ARCHIVE) -> Path:
    """Run the training job under spark-submit and write the archive at its exit; return its path."""
    # Here, not at the top: spark-submit runs this file as a script, without the repository on its path.
    from embedded.spark_dist import spark_base_env, spark_home

    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    env = {**os.environ, **spark_base_env(os.environ),
           "SPARK_SUBMIT_OPTS": f"-XX:ArchiveClassesAtExit={partial} {_LOGGING}"}  # fmt: skip
    submit = [str(spark_home() / "bin" / "spark-submit"), "--master", "local[2]", __file__, "--train"]
    job = subprocess.run(submit, env=env, capture_output=True, text=True, timeout=600)
    if job.returncode != 0 or not partial.exists():
        raise SystemExit(f"The JVM class archive was not written (exit {job.returncode}):\n"
                         f"{job.stderr[-3000:]}")
    partial.replace(archive)  # a half-written archive is never mapped
    return archive


if __name__ == "__main__":
    if sys.argv[1:] == ["--train"]:
        _train()
    else:
        print(f"Spark JVM class archive: {build()}")
