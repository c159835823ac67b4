"""The recent windows' merged partials: what the Live page shows and the alert rules judge.

A batch brings partials for the windows it touched; merged with what earlier batches brought, they give
those windows' values so far. The merged partials of the recent windows stay in the driver's memory, per
breakdown for its own horizon of event time (``HORIZONS``: the sites' windows for the Live page's hour,
the other breakdowns for its quarter of an hour); after a restart they are read back from
``live_metrics_parts`` for the batches before the first one run, so a replayed batch gives the values the
first run gave.

A batch's merge runs in the driver's Python, with the Apache DataSketches library Spark's sketch functions
are built on (the same HLL and KLL sketches, the same binary images): the batch's partials, collected,
are merged into the kept windows they touched and finished (``finish``: the values ``finished_sql``
gives in Spark: HLL estimates rounded, KLL quantiles with Java's inclusive search). It costs no Spark job:
a few milliseconds for the few hundred groups a batch touches (docs/streaming.md, "The Live page's store").
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from datasketches import hll_sketch, hll_union, kll_doubles_sketch, tgt_hll_type
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from clickstream.streaming.archive import newest_days
from clickstream.streaming.compaction import current_dirs
from clickstream.streaming.metrics import (
    COUNT_COLUMNS,
    HLL_LG_K,
    KEYS,
    KLL_K,
    QUANTILES,
    SKETCHES,
    SUMMED,
    merge,
)

SITE_HORIZON = timedelta(minutes=65)      # the Live page's hour of the sites, and a margin
BREAKDOWN_HORIZON = timedelta(minutes=20)  # its quarter of an hour of the other breakdowns, and a margin
HORIZONS = {"app": SITE_HORIZON, **dict.fromkeys(
    ("page", "section", "transition", "device", "browser", "os"), BREAKDOWN_HORIZON)}
JUDGED = ("app", "page")  # the breakdowns the alert rules read
HLL = {c for c, how in SKETCHES.items() if how.startswith("hll")}


class Window:
    """The merged partials of one (window, app, dim, key): sums and sketches, mergeable again."""

    __slots__ = ("sums", "sketches", "dt")

    def __init__(self, dt: str):
        self.sums = dict.fromkeys(SUMMED, 0)
        self.sketches = {c: hll_union(HLL_LG_K) if c in HLL else kll_doubles_sketch(KLL_K) for c in SKETCHES}
        self.dt = dt

    def add(self, part: dict) -> None:
        """Merge a partial (a row of live_metrics_parts, or partials already merged) into this window."""
        for c in SUMMED:
            self.sums[c] += part[c] or 0
        for c, sketch in self.sketches.items():
            image = part[c]
            if image is None:  # a partial written before the column (an upgraded table)
                continue
            if c in HLL:
                sketch.update(hll_sketch.deserialize(bytes(image)))
            else:
                sketch.merge(kll_doubles_sketch.deserialize(bytes(image)))

    def finish(self, key: tuple) -> dict:
        """Return the window's metrics, as ``metrics.finished_sql`` computes them in Spark."""
        s = self.sums
        row = dict(zip(KEYS, key, strict=True))
        row.update({c: s[c] for c in ("events", *COUNT_COLUMNS.values())})
        for c, name in (("users_sketch", "users"), ("viewers_sketch", "viewers")):
            # Spark's hll_sketch_estimate: the union's HLL_8 result, Math.round of its estimate.
            row[name] = math.floor(self.sketches[c].get_result(tgt_hll_type.HLL_8).get_estimate() + 0.5)
        row.update(bot_events=s["bot_events"], page_leaves=s["page_leaves"],
                   time_on_page_avg_ms=s["dwell_sum_ms"] / s["page_leaves"] if s["page_leaves"] else None,
                   responses=s["responses"], errors=s["errors"])
        for name, (sketch, rank) in QUANTILES.items():
            kll = self.sketches[sketch]
            row[name] = None if kll.is_empty() else kll.get_quantile(rank, True)  # Java's INCLUSIVE
        row["error_rate"] = s["errors"] / s["responses"] if s["responses"] else None
        row["dt"] = self.dt
        return row


class RecentWindows:
    """The merged partials of the recent windows, by (window, app, dim, key), each dim for its horizon."""

    def __init__(self, horizons: dict[str, timedelta] | None = None):
        self.horizons = horizons or HORIZONS
        self.merged: dict[tuple, Window] = {}

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(self.horizons)

    def restore(self, spark: SparkSession, parts_path: str, schema: StructType, batch_id: int) -> None:
        """Read back the partials that batches before this one wrote (once, at the first batch), merged in
        Spark (the hour's partials, not one batch's). ``schema``: the partials' (files written before a
        column was added read it as null)."""
        # The horizons are an hour at most: two days hold them. Each hour partition's current files.
        dirs = current_dirs(spark, parts_path, newest_days(spark, parts_path))
        if not dirs:
            return
        earlier = (spark.read.schema(schema).parquet(*dirs)
                   .withColumn("dt", F.date_format("window_start", "yyyy-MM-dd"))  # as the writer's
                   .filter(F.col("dim").isin(*self.dims) & (F.col("batch_id") < batch_id)))
        newest = earlier.agg(F.max("window_start")).first()[0]
        if newest is None:
            return
        since = newest - max(self.horizons.values())
        day = since.strftime("%Y-%m-%d")
        recent = earlier.filter((F.col("dt") >= day) & (F.col("window_start") >= since))
        self.merged = {}
        self._merge([row.asDict() for row in merge(recent.drop("batch_id")).collect()])
        self._forget(self._newest())

    def finished(self) -> list[dict]:
        """Return the finished values of every window kept."""
        return [window.finish(key) for key, window in self.merged.items()]

    def update(self, parts: list[dict]) -> list[dict]:
        """Merge a batch's partials (its rows of live_metrics_parts) into the recent windows; return the
        finished values of the kept windows it touched."""
        touched = self._merge([part for part in parts if part["dim"] in self.horizons])
        newest = self._newest()
        if newest is None:
            return []
        self._forget(newest)
        return [self.merged[key].finish(key) for key in touched if key in self.merged]

    def horizon_starts(self) -> dict[datetime, tuple[str, ...]]:
        """Return {the first window kept: the breakdowns kept from it}, from the newest window kept ({}
        when none is): what the Live page's store keeps too."""
        newest = self._newest()
        if newest is None:
            return {}
        starts: dict[datetime, tuple[str, ...]] = {}
        for dim, horizon in self.horizons.items():
            starts[newest - horizon] = (*starts.get(newest - horizon, ()), dim)
        return starts

    def _merge(self, parts: list[dict]) -> list[tuple]:
        """Merge partials into the kept windows; return the keys they touched, in their order."""
        touched: dict[tuple, None] = {}
        for part in parts:
            key = tuple(part[k] for k in KEYS)
            window = self.merged.get(key)
            if window is None:
                window = self.merged[key] = Window(str(part["dt"]))
            window.add(part)
            touched[key] = None
        return list(touched)

    def _newest(self) -> datetime | None:
        return max((key[0] for key in self.merged), default=None)

    def _forget(self, newest: datetime) -> None:
        """Drop each breakdown's windows older than its horizon before the newest window."""
        self.merged = {k: v for k, v in self.merged.items() if k[0] >= newest - self.horizons[k[3]]}
