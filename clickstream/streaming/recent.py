"""The recent windows' merged partials of the app and page breakdowns, which the alert rules judge.

A batch brings partials for the windows it touched; merged with what earlier batches brought, they give
those windows' values so far. The merged partials of the last ``HORIZON`` of event time stay in the
driver's memory (a few hundred rows of counts and sketches); after a restart they are read back from
``live_metrics_parts`` for the batches before the first one run, so a replayed batch sees the windows
as the first run did.
"""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clickstream.streaming.archive import exists
from clickstream.streaming.metrics import KEYS, SKETCHES, SUMMED, finished_sql, merge

HORIZON = timedelta(minutes=10)
JUDGED = ("app", "page")  # the breakdowns the alert rules read


class RecentWindows:
    """The merged partials of the recent app and page windows, by (window, app, dim, key)."""

    def __init__(self, horizon: timedelta = HORIZON):
        self.horizon = horizon
        self.merged: dict[tuple, tuple] = {}

    def restore(self, spark: SparkSession, parts_path: str, batch_id: int) -> None:
        """Read back the partials that batches before this one wrote (once, at the first batch)."""
        if not exists(spark, parts_path):
            return
        earlier = (spark.read.parquet(parts_path)
                   .filter(F.col("dim").isin(*JUDGED) & (F.col("batch_id") < batch_id))
                   .withColumn("dt", F.col("dt").cast("string")))  # discovered as a date
        newest = earlier.agg(F.max("window_start")).first()[0]
        if newest is None:
            return
        since = newest - self.horizon
        day = since.strftime("%Y-%m-%d")
        recent = earlier.filter((F.col("dt") >= day) & (F.col("window_start") >= since))
        self._keep(merge(recent.drop("batch_id")).collect())

    def update(self, parts: DataFrame) -> list[dict]:
        """Merge a batch's partials into the recent windows; return the finished rows it touched."""
        spark = parts.sparkSession
        new = parts.filter(F.col("dim").isin(*JUDGED)).withColumn("_touched", F.lit(True))
        if self.merged:
            known = spark.createDataFrame(list(self.merged.values()), parts.schema)
            new = new.unionByName(known.withColumn("_touched", F.lit(False)))
        merged = merge(new, F.max("_touched").alias("_touched"))
        rows = [r.asDict() for r in merged.selectExpr(*finished_sql(), "dwell_sum_ms", *SKETCHES,
                                                       "_touched").collect()]
        if not rows:
            return []
        since = max(r["window_start"] for r in rows) - self.horizon
        touched = [r for r in rows if r.pop("_touched") and r["window_start"] >= since]
        self._keep(touched, replace=False)
        self._forget(since)
        return touched

    def _keep(self, rows, replace: bool = True) -> None:
        if replace:
            self.merged = {}
        for row in rows:
            values = row if isinstance(row, dict) else row.asDict()
            self.merged[tuple(values[k] for k in KEYS)] = tuple(
                values[c] for c in (*KEYS, *SUMMED, *SKETCHES, "dt"))

    def _forget(self, before) -> None:
        self.merged = {k: v for k, v in self.merged.items() if k[0] >= before}
