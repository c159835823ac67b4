"""The application's micro-batch: every output of the events it read once (docs/streaming.md).

``EventsBatch`` is the ``foreachBatch`` function of the one query. The batch — the topic's new
records, parsed and validated once in the JVM, each event id once within the de-duplication
watermark — is computed once into a local checkpoint (``materialized``), counted as it is, and written:

1. first, its live metrics' partials (1-minute windows per breakdown) are computed into a local checkpoint
   of their own and collected; the driver merges them into the recent windows they touched
   (``RecentWindows``, no Spark job) and upserts the finished windows into the Live page's store
   (PostgreSQL, ``LiveStore``), so that the page sees the batch as early as it can; a store that does not
   answer never stops the batch: it is caught up whole when it answers again;
2. then, side by side (``SideBySide``: a thread each, their Spark jobs overlapping):
   - the partials into ``live_metrics_parts``, merged by the view ``live_metrics_latest``;
   - valid events into ``raw_events`` (dt/hr of event time), rejected records into ``bad_events``;
   - the active users' partials, ``live_active_users_parts`` (5-minute sliding windows);
   - the navigation triples the batch completes into ``live_paths``, and the sessions' open pages into
     the application's state for the next batch (one job);
   - the alerts the recent windows raise, into ``live_alerts`` and the alerts topic.

Every write is keyed by the batch id (deterministic file names, moved into place), so a batch replayed
after a failure rewrites the same files: no table ends up with a batch twice or half of one. A sink that
fails fails the batch; Spark runs it again on restart. The live tables are partitioned by hour, and a
partition past a number of files is compacted before the batch writes into it (``compaction.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from contextlib import contextmanager
from datetime import datetime

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from clickstream.settings import Settings
from clickstream.streaming.alerts import ALERT_COLUMNS, AlertEvaluator, publish
from clickstream.streaming.archive import (
    batch_file_name,
    exists,
    latest_batch_file,
    newest_days,
    prune_batch_files,
    write_file,
)
from clickstream.streaming.columns import built_once
from clickstream.streaming.compaction import current_dirs
from clickstream.streaming.events import bad_events, valid_events
from clickstream.streaming.live_store import LiveStore
from clickstream.streaming.metrics import active_user_parts, metric_parts
from clickstream.streaming.paths import OPEN, OPEN_SCHEMA, advance, written
from clickstream.streaming.recent import RecentWindows
from clickstream.streaming.session import jvm_class
from clickstream.streaming.side_by_side import SideBySide
from clickstream.streaming.steps import Steps
from clickstream.streaming.warehouse import Warehouse

log = logging.getLogger("clickstream.streaming")

OPEN_PAGES = "live_paths_open"  # the state directory of the sessions' open pages
KEEP_OPEN_FILES = 10
LIVE_PARTITIONS = ("dt", "hr")  # the live tables' (catalog.hourly_live_names)
ONE_TASK_RECORDS = 10_000  # a batch of at most this many records is written by one task (see __call__)


def transform_bad(parsed: DataFrame) -> DataFrame:
    """Rejected records with their reason, partitioned by the day they arrived."""
    return (
        bad_events(parsed, "topic", "partition", "offset", "timestamp")
        .withColumn("dt", F.date_format("timestamp", "yyyy-MM-dd"))
    )


@built_once
def _counts() -> list[Column]:
    valid = F.col("_reason").isNull()
    return [F.count(F.when(valid, True)).alias("valid"), F.count(F.when(~valid, True)).alias("bad"),
            F.max(F.when(valid, F.col("event_ts"))).alias("newest")]


def with_batch_id(batch_id: int):
    """The batch id as a column of the live partials (a restart restores the recent windows from earlier
    batches' partials by it)."""
    return F.lit(batch_id).cast("long").alias("batch_id")


def alerts_ddl() -> str:
    """Return the schema of live_alerts as Spark DDL (it reads the Hive type names as they are)."""
    return ", ".join(f"{name} {kind}" for name, kind in [*ALERT_COLUMNS, ("dt", "STRING"), ("hr", "INT")])


def earlier_alerts(spark: SparkSession, settings: Settings, batch_id: int) -> list[dict]:
    """Return alerts raised by earlier batches, so a restart does not raise them again (the newest two days':
    an alert judges a window of the last hour)."""
    path = settings.table_path("live_alerts")
    dirs = current_dirs(spark, path, newest_days(spark, path))  # each hour partition's current files
    if not dirs:
        return []
    earlier = spark.read.schema(alerts_ddl()).parquet(*dirs).filter(F.col("batch_id") < batch_id)
    return [r.asDict() for r in earlier.select("kind", "app_id", "subject", "window_start").collect()]


@contextmanager
def materialized(df: DataFrame | None) -> Generator[DataFrame | None, None, None]:
    """Compute a DataFrame once; give it with its plan cut to the computed rows, dropped on leaving.

    A micro-batch's plan holds the whole parse and validation (hundreds of expressions): every job and
    every transformation over a merely cached batch analyzes and optimizes all of it again, which cost
    about 100 ms a job at make run's load, a dozen times a batch. A local checkpoint keeps the rows
    (memory, then disk) under a plan of one node; they are dropped at the end of the block rather than
    when the JVM's garbage collector gets to them. None gives None.
    """
    if df is None:
        yield None
        return
    cut = df.localCheckpoint(eager=True)
    try:
        yield cut
    finally:
        cut._jdf.queryExecution().analyzed().rdd().unpersist(False)  # the LogicalRDD's checkpointed rows


class EventsBatch:
    """Writes every output of one micro-batch (see the module docstring)."""

    def __init__(self, warehouse: Warehouse, producer, live: bool = True, store: LiveStore | None = None):
        self.warehouse = warehouse
        self.settings = warehouse.settings
        self.producer = producer
        self.live = live
        self.store = store
        # Whether the store may lack windows (a publish failed; or a start: the run before may have failed
        # its last ones): the next publish then writes every window kept, not only the batch's.
        self.store_behind = True
        self.store_failing = False
        self.evaluator = AlertEvaluator()
        self.recent = RecentWindows()
        self.restored = False
        self.jvm_pid: int | None = None
        self.parts_schema: StructType | None = None  # live_metrics_parts', read back at a restart

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        if self.jvm_pid is None:  # the driver's JVM, for the steps' CPU: asked once
            self.jvm_pid = jvm_class(batch.sparkSession, "java.lang.ProcessHandle").current().pid()
        steps = Steps(batch.sparkSession, self.jvm_pid)
        # Counted while it is computed (no job of its own): which writes have anything to write.
        counts = Observation("batch")
        with materialized(batch.observe(counts, *_counts())) as batch:
            observed = counts.get
            valid_n, bad_n, newest = (observed[n] for n in ("valid", "bad", "newest"))
            steps.done("read")
            small = valid_n + bad_n <= ONE_TASK_RECORDS
            if small:
                # Every task of the writes and the sketch aggregations deserializes its plan and generates
                # its projections' code again, whatever its rows: a small batch is one task's work, and
                # its archive is written without a shuffle by hour.
                batch = batch.coalesce(1)
            valid = valid_events(batch)
            live = bool(valid_n) and self.live
            with materialized(self._partials(valid, batch_id) if live else None) as partials:
                windows = []
                if live:  # what the Live page reads, before the rest
                    steps.done("metrics")
                    windows = self._windows(valid.sparkSession, partials, batch_id)
                    steps.done("recent windows")
                outputs = self._archive(batch, valid, batch_id, small, valid_n, bad_n)
                if live:
                    outputs |= self._live(valid, partials, windows, batch_id, newest)
                steps.side_by_side(SideBySide(**outputs))
        log.info("batch %d: %d events, %d rejected; %s", batch_id, valid_n, bad_n, steps)

    def _archive(self, batch: DataFrame, valid: DataFrame, batch_id: int, small: bool, valid_n: int,
                 bad_n: int) -> dict[str, Callable[[], None]]:
        """Return the writes of the archive: valid events into raw_events, rejected ones into bad_events."""
        write = self.warehouse.write
        outputs: dict[str, Callable[[], None]] = {}
        if valid_n:
            outputs["archive"] = lambda: write(valid, batch_id, "raw_events", ("dt", "hr"), small=small)
        if bad_n:
            outputs["rejected"] = lambda: write(transform_bad(batch), batch_id, "bad_events", ("dt",),
                                                small=small)
        return outputs

    def _live(self, valid: DataFrame, partials: DataFrame, windows: list[dict], batch_id: int,
              newest: datetime) -> dict[str, Callable[[], None]]:
        """Return the writes of the live outputs (independent of each other)."""
        return {
            "metrics": lambda: self.warehouse.write(partials, batch_id, "live_metrics_parts", LIVE_PARTITIONS,
                                                    small=True),
            "active users": lambda: self.warehouse.write(
                active_user_parts(valid).select("*", with_batch_id(batch_id)), batch_id,
                "live_active_users_parts", LIVE_PARTITIONS, small=True),
            "paths": lambda: self._paths(valid, batch_id, newest),
            "alerts": lambda: self._alerts(valid.sparkSession, windows, batch_id),
        }

    def _paths(self, valid: DataFrame, batch_id: int, newest: datetime) -> None:
        spark = valid.sparkSession
        state = self.warehouse.state(OPEN_PAGES)
        # The open pages the batch before this one left: a replay reads the same file.
        previous = latest_batch_file(spark, state, before=batch_id)
        if previous:
            open_pages = spark.read.schema(OPEN_SCHEMA).parquet(previous)
        else:
            open_pages = spark.createDataFrame([], OPEN_SCHEMA)
        # One job writes the triples into live_paths and the pages still open into the state.
        self.warehouse.write(written(advance(open_pages, valid, newest)), batch_id, "live_paths",
                             LIVE_PARTITIONS, small=True, aside={OPEN: state})
        if not exists(spark, f"{state}/{batch_file_name(batch_id)}"):  # no session open: say so
            write_file(spark.createDataFrame([], OPEN_SCHEMA), batch_id, state,
                       self.warehouse.staging(OPEN_PAGES))
        prune_batch_files(spark, state, keep=KEEP_OPEN_FILES)

    def _partials(self, valid: DataFrame, batch_id: int) -> DataFrame:
        """Return the batch's live metric partials (live_metrics_parts' rows)."""
        partials = metric_parts(valid).select("*", with_batch_id(batch_id))
        if self.parts_schema is None:
            self.parts_schema = partials.schema
        return partials

    def _windows(self, spark: SparkSession, partials: DataFrame, batch_id: int) -> list[dict]:
        """Merge the batch's partials into the recent windows; publish the finished windows it touched to
        the Live page's store; return them."""
        if not self.restored:
            self.evaluator.remember(earlier_alerts(spark, self.settings, batch_id))
            self.recent.restore(spark, self.settings.table_path("live_metrics_parts"), self.parts_schema,
                                batch_id)
            self.restored = True
        windows = self.recent.update([row.asDict() for row in partials.collect()])
        if self.store is not None:
            self._publish(windows, batch_id)
        return windows

    def _publish(self, windows: list[dict], batch_id: int) -> None:
        """Upsert into the Live page's store. A store that does not answer never stops the batch (the
        archive goes on): the windows are published whole once it answers again."""
        try:
            if self.store_behind:
                windows = self.recent.finished()
            self.store.publish(windows, batch_id, self.recent.horizon_starts())
        except Exception as exc:  # noqa: BLE001 - any failure of the store: logged, caught up later
            if not self.store_failing:  # once a failure, not every batch
                log.error("batch %d: the Live page's store at %s did not take the recent windows (%s); "
                          "they are published whole once it does", batch_id, self.store.url, exc)
            self.store_behind = self.store_failing = True
        else:
            if self.store_failing:
                log.info("batch %d: the Live page's store takes the recent windows again", batch_id)
            self.store_behind = self.store_failing = False

    def _alerts(self, spark: SparkSession, windows: list[dict], batch_id: int) -> None:
        """Judge the recent windows the batch touched; write and publish the alerts they raise."""
        alerts = self.evaluator.evaluate(windows, batch_id)
        if alerts:
            frame = spark.createDataFrame(alerts, alerts_ddl())
            self.warehouse.write(frame, batch_id, "live_alerts", LIVE_PARTITIONS)
            publish(self.producer, self.settings.topic_alerts, alerts)
            log.warning("batch %d raised %d alerts: %s", batch_id, len(alerts),
                        "; ".join(a["message"] for a in alerts))
