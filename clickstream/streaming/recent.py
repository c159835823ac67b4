"""The recent windows' merged partials: what the Live page shows and the alert rules judge.

A batch brings partials for the windows it touched; merged with what earlier batches brought, they give
those windows' values so far. The merged partials of the recent windows stay in the driver's memory, per
breakdown for its own horizon of event time (``HORIZONS``: the sites' windows for the Live page's hour,
the other breakdowns for its quarter of an hour); after a restart they are read back from
``live_metrics_parts`` for the batches before the first one run, so a replayed batch gives the values the
first run gave.

A batch's merge sends to the JVM only the kept windows of the minutes the batch touched (``update``'s
``minutes``), not the whole hour: a minute or two of rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from clickstream.streaming.archive import exists
from clickstream.streaming.metrics import KEYS, SKETCHES, SUMMED, finished_sql, merge

SITE_HORIZON = timedelta(minutes=65)      # the Live page's hour of the sites, and a margin
BREAKDOWN_HORIZON = timedelta(minutes=20)  # its quarter of an hour of the other breakdowns, and a margin
HORIZONS = {"app": SITE_HORIZON, **dict.fromkeys(
    ("page", "section", "transition", "device", "browser", "os"), BREAKDOWN_HORIZON)}
JUDGED = ("app", "page")  # the breakdowns the alert rules read


class RecentWindows:
    """The merged partials of the recent windows, by (window, app, dim, key), each dim for its horizon."""

    def __init__(self, horizons: dict[str, timedelta] | None = None):
        self.horizons = horizons or HORIZONS
        self.merged: dict[tuple, tuple] = {}
        self.schema: StructType | None = None  # the partials', known from the first update

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(self.horizons)

    def restore(self, spark: SparkSession, parts_path: str, batch_id: int) -> None:
        """Read back the partials that batches before this one wrote (once, at the first batch)."""
        if not exists(spark, parts_path):
            return
        earlier = (spark.read.parquet(parts_path)
                   .filter(F.col("dim").isin(*self.dims) & (F.col("batch_id") < batch_id))
                   .withColumn("dt", F.col("dt").cast("string")))  # discovered as a date
        newest = earlier.agg(F.max("window_start")).first()[0]
        if newest is None:
            return
        since = newest - max(self.horizons.values())
        day = since.strftime("%Y-%m-%d")
        recent = earlier.filter((F.col("dt") >= day) & (F.col("window_start") >= since))
        self._keep(merge(recent.drop("batch_id")).collect())
        self._forget(newest)

    def finished(self, spark: SparkSession) -> list[dict]:
        """Return the finished values of every window kept (after an ``update``, which gives the schema)."""
        if not self.merged:
            return []
        kept = spark.createDataFrame(list(self.merged.values()), self.schema)
        return [r.asDict() for r in kept.selectExpr(*finished_sql()).collect()]

    def update(self, parts: DataFrame, minutes: tuple[datetime, datetime] | None = None) -> list[dict]:
        """Merge a batch's partials into the recent windows; return the finished rows it touched.

        ``minutes``: the first and last event time of the batch, if known: only the kept windows between
        them are merged with it (all of them otherwise).
        """
        spark = parts.sparkSession
        self.schema = parts.schema
        new = parts.filter(F.col("dim").isin(*self.dims)).withColumn("_touched", F.lit(True))
        known = list(self.merged.values())
        if minutes is not None:
            first, last = (moment.replace(second=0, microsecond=0, tzinfo=None) for moment in minutes)
            known = [row for key, row in self.merged.items() if first <= key[0] <= last]
        if known:
            kept = spark.createDataFrame(known, parts.schema)
            new = new.unionByName(kept.withColumn("_touched", F.lit(False)))
        merged = merge(new, F.max("_touched").alias("_touched"))
        rows = [r.asDict() for r in merged.selectExpr(*finished_sql(), "dwell_sum_ms", *SKETCHES,
                                                       "_touched").collect()]
        if not rows:
            return []
        newest = max([r["window_start"] for r in rows] + [key[0] for key in self.merged])
        touched = [r for r in rows
                   if r.pop("_touched") and r["window_start"] >= newest - self.horizons[r["dim"]]]
        self._keep(touched, replace=False)
        self._forget(newest)
        return touched

    def horizon_starts(self) -> dict[datetime, tuple[str, ...]]:
        """Return {the first window kept: the breakdowns kept from it}, from the newest window kept ({}
        when none is): what the Live page's store keeps too."""
        newest = max((key[0] for key in self.merged), default=None)
        if newest is None:
            return {}
        starts: dict[datetime, tuple[str, ...]] = {}
        for dim, horizon in self.horizons.items():
            starts[newest - horizon] = (*starts.get(newest - horizon, ()), dim)
        return starts

    def _keep(self, rows, replace: bool = True) -> None:
        if replace:
            self.merged = {}
        for row in rows:
            values = row if isinstance(row, dict) else row.asDict()
            self.merged[tuple(values[k] for k in KEYS)] = tuple(
                values[c] for c in (*KEYS, *SUMMED, *SKETCHES, "dt"))

    def _forget(self, newest: datetime) -> None:
        """Drop each breakdown's windows older than its horizon before the newest window."""
        self.merged = {k: v for k, v in self.merged.items() if k[0] >= newest - self.horizons[k[3]]}
