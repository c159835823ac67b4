"""A live table of a release before hour partitions, moved into them (once, at the application's start).

Releases before 2026-12-08 partitioned the live tables by day only, a file per batch in each day's
directory. Each day's files are read and written again as one file per hour of the table's time column
(``dt=…/hr=…/by-day.parquet``: generation 0 of the hour partition, compacted like any other); then the
day's own files are deleted. The table is then created again with the hour partition and its partitions
registered from the directories (clickstream/streaming/hive.py, ``ensure_table``). Run again after a
crash, it writes the same files again: nothing is lost or doubled.
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clickstream.streaming.archive import HadoopFs, data_files

log = logging.getLogger("clickstream.hour_partitions")

BY_DAY = "by-day.parquet"


def into_hours(spark: SparkSession, table_uri: str, hour_of: str, staging_uri: str) -> None:
    """Move every day directory's own files of a table into hour partitions by the column ``hour_of``."""
    fs = HadoopFs(spark, table_uri)
    for day in fs.list(table_uri):
        name = day.getPath().getName()
        if not (day.isDirectory() and name.startswith("dt=")):
            continue
        files = [status.getPath() for status in fs.list(str(day.getPath()))
                 if status.isFile() and status.getPath().getName().endswith(".parquet")
                 and not status.getPath().getName().startswith(("_", "."))]
        if not files:
            continue
        staging = f"{staging_uri.rstrip('/')}/{name}"
        rows = spark.read.option("mergeSchema", "true").parquet(*[str(f) for f in files])
        (rows.withColumn("hr", F.hour(hour_of)).repartition("hr")
         .write.mode("overwrite").partitionBy("hr").parquet(staging))
        hours = 0
        for src, (hr,) in data_files(fs, staging, ("hr",)):
            fs.replace(src, f"{day.getPath()}/hr={hr}/{BY_DAY}")
            hours += 1
        fs.delete(staging)
        for file in files:
            fs.fs.delete(file, False)
        log.info("%s: %d files of %s moved into %d hour partitions", table_uri, len(files), name, hours)
