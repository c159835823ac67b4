"""The streaming application: its queries, their sinks, and how it starts and stops.

include/spark_jobs/clickstream_streaming.py is its main (arguments); this module builds the session
and the queries (docs/streaming.md):
- ``ingest`` reads the events topic once: it validates every record, drops
  duplicate event ids within a 10-minute watermark on the broker timestamp,
  and per micro-batch writes, exactly once, valid events to ``raw_events``
  (dt/hr of event time), rejected records to ``bad_events`` (dt of arrival),
  and the batch's valid events as one file to the internal feed
  ``_feed/events``;
- ``live_metrics`` reads the topic itself (one hop: its freshness does not
  wait for ingest's batch), validates the same way, counts each event id once
  within its watermark, and writes 1-minute metrics per breakdown, plus alerts
  into ``live_alerts`` and the alerts topic;
- ``live_active_users`` and ``live_paths`` stream that feed — the archived,
  de-duplicated events — into 5-minute sliding active users and
  prev → current → next navigation triples;
- the progress of every query goes to ``stream_progress``.

Every table is registered in Hive through HiveServer2 as it gets new
partitions. Configuration comes from the CLICKSTREAM_* environment
(clickstream/settings.py). Kafka is read with Spark's own connector
(``format("kafka")``, its jars passed with ``--jars``) in both runtimes. A
query whose offsets are no longer in the topic (retention deleted them, or
the broker's log was reset) stops it before it starts, naming the partitions
and why, rather than skip them; an operator who accepts the loss restarts it
once with ``--no-fail-on-data-loss``.

The application records where it runs and stops between micro-batches, exiting 0, when a stop is
requested (``make stop`` does; clickstream/streaming/lifecycle.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clickstream.hive import wait_until_answering
from clickstream.settings import Settings, get_settings
from clickstream.streaming.alerts import ALERT_COLUMNS, AlertEvaluator, publish
from clickstream.streaming.archive import (
    exists,
    make_dirs,
    prune,
    query_owner,
    remove_unfinished_log_writes,
    write_batch,
    write_file,
)
from clickstream.streaming.events import FEED_COLUMNS, bad_events, feed_struct, transform_parse, valid_events
from clickstream.streaming.hive import HivePartitions, columns_of
from clickstream.streaming.kafka_offsets import (
    TOPIC_READERS,
    DataLossError,
    lost_offsets_error,
    retire_python_source_checkpoints,
)
from clickstream.streaming.lifecycle import StopRequest, record_application, run_until_stopped
from clickstream.streaming.metrics import transform_active_users, transform_metrics
from clickstream.streaming.paths import PATHS_SCHEMA, ROCKSDB_PROVIDER, transform_paths
from clickstream.streaming.progress import HIVE_COLUMNS as PROGRESS_COLUMNS
from clickstream.streaming.progress import ProgressRecorder
from clickstream.topics import log_bounds, require_topics

log = logging.getLogger("clickstream.streaming")

DEDUP_WATERMARK = "10 minutes"
FEED_RETENTION_S = 6 * 3600
PRUNE_EVERY = 100  # ingest batches
HIVE_WAIT_S = 180  # HiveServer2's start timeout in the embedded stack
# Scheduler pools (spark.scheduler.mode=FAIR). `fresh` (the live metrics) carries the freshness of
# the live tables: while it has tasks waiting and runs fewer than minShare, its tasks go first.
# `background` (ingest, active users, paths) takes what is left.
POOLS_XML = """<?xml version="1.0"?>
<allocations>
  <pool name="fresh"><schedulingMode>FIFO</schedulingMode><weight>4</weight><minShare>2</minShare></pool>
  <pool name="background"><schedulingMode>FIFO</schedulingMode><weight>1</weight><minShare>0</minShare></pool>
</allocations>
"""


def extract_events(spark: SparkSession, settings: Settings, args: argparse.Namespace) -> DataFrame:
    """Return the events topic as a stream with the Kafka source's columns."""
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.topic_events)
        .option("startingOffsets", args.starting_offsets)
        .option("failOnDataLoss", str(args.fail_on_data_loss).lower())
    )
    if args.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(args.max_offsets_per_trigger))
    return reader.load()


def transform_ingest(parsed: DataFrame) -> DataFrame:
    """Drop repeated event ids within the watermark; rejected records always pass (keyed by offset)."""
    key = F.coalesce(
        F.when(F.col("_reason").isNull(), F.col("event_id")),
        F.concat_ws(":", F.lit("bad"), "topic", "partition", "offset"),
    )
    return (
        parsed.withColumn("_key", key)
        .withWatermark("timestamp", DEDUP_WATERMARK)
        .dropDuplicatesWithinWatermark(["_key"])
    )


def transform_bad(parsed: DataFrame) -> DataFrame:
    """Rejected records with their reason, partitioned by the day they arrived."""
    return (
        bad_events(parsed, "topic", "partition", "offset", "timestamp")
        .withColumn("dt", F.date_format("timestamp", "yyyy-MM-dd"))
    )


def extract_feed(spark: SparkSession, settings: Settings) -> DataFrame:
    """Return the stream of archived events the ingest query hands to the live queries."""
    return spark.readStream.schema(feed_struct()).parquet(feed_uri(settings))


def feed_uri(settings: Settings) -> str:
    """Return the directory of the internal feed of archived events."""
    return f"{settings.warehouse_uri.rstrip('/')}/_feed/events"


def latest_view(settings: Settings, table: str, key: str) -> str:
    """Return the DDL of the view keeping the newest version of each row of an update-mode table."""
    db = settings.hive_database
    return (f"CREATE VIEW IF NOT EXISTS {db}.{table}_latest AS SELECT * FROM (SELECT t.*, "
            f"row_number() OVER (PARTITION BY dt, {key} ORDER BY batch_id DESC) AS version_rank "
            f"FROM {db}.{table} t) v WHERE version_rank = 1")


class Warehouse:
    """Writes micro-batches exactly once into the warehouse tables and registers their partitions."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.hive = HivePartitions(settings)
        self.root = settings.warehouse_uri.rstrip("/")

    def write(self, df: DataFrame, batch_id: int, table: str, partitions: tuple[str, ...]) -> None:
        """Write one batch of a table and register the partitions it touched."""
        touched = write_batch(df, batch_id, self.settings.table_path(table), f"{self.root}/_staging/{table}",
                              partitions, owner=query_owner(df))
        self.hive.register(table, partitions, touched)

    def checkpoint(self, name: str) -> str:
        """Return the checkpoint location of a query."""
        return self.settings.checkpoint_path(name)


def ingest_batch(warehouse: Warehouse):
    """Return the foreachBatch function of the ingest query."""
    feed = feed_uri(warehouse.settings)

    def run(batch: DataFrame, batch_id: int) -> None:
        batch.persist()
        try:
            # One pass over the batch decides which writes have anything to write.
            counts = dict(batch.groupBy(F.col("_reason").isNull().alias("ok")).count().collect())
            valid = valid_events(batch)
            if counts.get(True):
                warehouse.write(valid, batch_id, "raw_events", ("dt", "hr"))
            if counts.get(False):
                warehouse.write(transform_bad(batch), batch_id, "bad_events", ("dt",))
            if counts.get(True):
                # Last: active users and paths see a batch only once the archive holds it.
                write_file(valid.select(*FEED_COLUMNS), batch_id, feed, f"{warehouse.root}/_staging/_feed",
                           owner=query_owner(batch))
        finally:
            batch.unpersist()
        if batch_id % PRUNE_EVERY == 0:
            pruned = prune(batch.sparkSession, feed, FEED_RETENTION_S)
            if pruned:
                log.info("pruned %d feed files older than %d h", pruned, FEED_RETENTION_S // 3600)

    return run


def metrics_batch(warehouse: Warehouse, evaluator: AlertEvaluator, producer):
    """Return the foreachBatch function of the live-metrics query: metrics, then alerts."""
    settings = warehouse.settings
    restored = False

    def run(batch: DataFrame, batch_id: int) -> None:
        nonlocal restored
        spark = batch.sparkSession
        batch = batch.withColumn("batch_id", F.lit(batch_id).cast("long")).persist()
        try:
            warehouse.write(batch, batch_id, "live_metrics", ("dt",))
            if not restored:
                evaluator.remember(_earlier_alerts(spark, settings, batch_id))
                restored = True
            rows = [r.asDict() for r in batch.filter(F.col("dim").isin("app", "page")).collect()]
        finally:
            batch.unpersist()
        alerts = evaluator.evaluate(rows, batch_id)
        if alerts:
            frame = spark.createDataFrame(alerts, _alerts_ddl())
            warehouse.write(frame, batch_id, "live_alerts", ("dt",))
            publish(producer, settings.topic_alerts, alerts)
            log.warning("batch %d raised %d alerts: %s", batch_id, len(alerts),
                        "; ".join(a["message"] for a in alerts))

    return run


def _alerts_ddl() -> str:
    # Spark's DDL reads the Hive type names as they are.
    return ", ".join(f"{name} {kind}" for name, kind in [*ALERT_COLUMNS, ("dt", "STRING")])


def _earlier_alerts(spark: SparkSession, settings: Settings, batch_id: int) -> list[dict]:
    """Return alerts raised by earlier batches, so a restart does not raise them again."""
    path = settings.table_path("live_alerts")
    if not exists(spark, path):
        return []
    earlier = spark.read.schema(_alerts_ddl()).parquet(path).filter(F.col("batch_id") < batch_id)
    return [r.asDict() for r in earlier.select("kind", "app_id", "subject", "window_start").collect()]


def update_batch(warehouse: Warehouse, table: str):
    """Return a foreachBatch function appending versioned rows (update mode) to a table."""

    def run(batch: DataFrame, batch_id: int) -> None:
        warehouse.write(batch.withColumn("batch_id", F.lit(batch_id).cast("long")), batch_id, table, ("dt",))

    return run


def append_batch(warehouse: Warehouse, table: str):
    """Return a foreachBatch function appending final rows (append mode) to a table."""

    def run(batch: DataFrame, batch_id: int) -> None:
        warehouse.write(batch, batch_id, table, ("dt",))

    return run


def start(df: DataFrame, name: str, run, warehouse: Warehouse, trigger: dict, output_mode: str = "append",
          pool: str = "background", state_store: str | None = None, checkpoint: str | None = None):
    """Start a foreachBatch query in a scheduler pool; checkpoint (default: its name) in the warehouse."""
    spark = df.sparkSession
    # The query's thread, and the jobs of its foreachBatch, keep the pool set when it starts.
    spark.sparkContext.setLocalProperty("spark.scheduler.pool", pool)
    location = warehouse.checkpoint(checkpoint or name)
    # A kill -9 while Spark wrote the first batch's offsets would otherwise keep the query down.
    remove_unfinished_log_writes(spark, location)
    # A new checkpoint records the state store provider; a query keeps the one it started with.
    provider = "spark.sql.streaming.stateStore.providerClass"
    configured = spark.conf.get(provider, None)
    if state_store:
        spark.conf.set(provider, state_store)
    try:
        return (
            df.writeStream.queryName(name).outputMode(output_mode).foreachBatch(run)
            .option("checkpointLocation", location).trigger(**trigger).start()
        )
    finally:
        if configured is None:
            spark.conf.unset(provider)
        else:
            spark.conf.set(provider, configured)


def ensure_live_tables(warehouse: Warehouse, metrics: DataFrame, active: DataFrame) -> None:
    """Create the live tables (columns from the queries' schemas) and their latest-version views."""
    settings, hive = warehouse.settings, warehouse.hive
    versioned = [("batch_id", "BIGINT")]
    hive.ensure_table("live_metrics", columns_of(metrics.schema) + versioned,
                      live_metrics_latest=latest_view(settings, "live_metrics",
                                                      "window_start, app_id, dim, key"))
    hive.ensure_table("live_active_users", columns_of(active.schema) + versioned,
                      live_active_users_latest=latest_view(settings, "live_active_users",
                                                           "window_start, app_id, page"))
    hive.ensure_table("live_paths", columns_of(PATHS_SCHEMA))
    hive.ensure_table("live_alerts", ALERT_COLUMNS)
    hive.ensure_table("stream_progress", PROGRESS_COLUMNS)


def pools_file() -> str:
    """Write the scheduler pools where the driver runs (in YARN cluster mode only the script travels)."""
    with tempfile.NamedTemporaryFile("w", prefix="clickstream-pools-", suffix=".xml", delete=False) as out:
        out.write(POOLS_XML)
    return out.name


def run(args: argparse.Namespace) -> None:
    """Build the session and run the queries until they stop (or, available-now, until they are done)."""
    from confluent_kafka import Producer

    started = time.time()
    settings = get_settings()
    # Spark's source waits forever on a topic that does not exist; say so before starting instead.
    require_topics(settings, settings.topic_events, settings.topic_alerts)
    pools = pools_file()
    spark = (
        SparkSession.builder.appName("clickstream-streaming")
        .config("spark.sql.session.timeZone", "UTC")
        # Feed files older than the retention are pruned; a query down for longer skips them.
        .config("spark.sql.files.ignoreMissingFiles", "true")
        # A micro-batch is cached for its three writes and dropped: compressing the cache
        # (measured: ~10 % of the ingest's CPU) saves nothing worth having.
        .config("spark.sql.inMemoryColumnarStorage.compressed", "false")
        # Four queries' plans need more generated classes than Spark's default cache holds (100):
        # with it, they were compiled again ~1,000 times a minute.
        .config("spark.sql.codegen.cache.maxEntries", "2000")
        # The live metrics keep sets and percentile buffers per group: past 128 groups in a task
        # Spark falls back to sorting them (and generating code for it) in every micro-batch.
        .config("spark.sql.objectHashAggregate.sortBased.fallbackThreshold", "1000000")
        # RocksDB commits write the batch's changes, not a snapshot of the store (snapshots are made in
        # the background); existing checkpoints switch over on their next batch (docs/streaming.md).
        .config("spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled", "true")
        # Freshness first: ingest and live metrics take the cores before the other queries.
        .config("spark.scheduler.mode", "FAIR")
        .config("spark.scheduler.allocation.file", f"file://{pools}")  # local, not the default FS
        # A Python worker that crashes leaves its traceback (or the C stack) in the task's error.
        .config("spark.python.worker.faulthandler.enabled", "true")
        .getOrCreate()
    )
    os.unlink(pools)  # read when the context started
    if not spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        # Small stateful stages: one shuffle partition per local core unless told otherwise
        # (--conf spark.sql.shuffle.partitions=… on a cluster). Kept in each checkpoint.
        spark.conf.set("spark.sql.shuffle.partitions", str(spark.sparkContext.defaultParallelism))
    warehouse = Warehouse(settings)
    record_application(spark, settings.streaming_control_uri, started)
    readers = [warehouse.checkpoint(name) for name in TOPIC_READERS]
    retire_python_source_checkpoints(spark, readers)
    if args.fail_on_data_loss:
        bounds = {settings.topic_events: log_bounds(settings, settings.topic_events)}
        problem = lost_offsets_error(spark, readers, bounds)
        if problem:
            raise DataLossError(problem)
    # Started with the stack, the application may be up before HiveServer2 (its tables' metastore).
    waited = wait_until_answering(settings, HIVE_WAIT_S)
    if waited > 1:
        log.info("waited %.0f s for HiveServer2", waited)
    warehouse.hive.ensure_tables()
    recorder = ProgressRecorder(
        settings.table_path("stream_progress"),
        register=lambda touched: warehouse.hive.register("stream_progress", ("dt",), touched),
        flush_s=args.progress_flush_seconds)
    recorder.start()

    def every(seconds: float) -> dict:
        if args.mode == "available-now":
            return {"availableNow": True}
        return {"processingTime": f"{seconds} seconds"}

    # Two cores serve four queries: the live metrics trigger often, the others less. Each batch has a
    # fixed cost, and fewer of them leave the cores to the live metrics (docs/streaming.md).
    trigger, ingest_trigger = every(args.trigger_seconds), every(args.ingest_trigger_seconds)
    slow = every(args.slow_trigger_seconds)

    parsed = transform_parse(extract_events(spark, settings, args))
    make_dirs(spark, feed_uri(settings))  # the file source needs its directory
    feed = extract_feed(spark, settings)
    # One hop: the live metrics read the topic too, and count each event id once.
    metrics = transform_metrics(valid_events(parsed).select("event_id", *FEED_COLUMNS, "browser", "os"),
                                unique="event_id")
    active = transform_active_users(feed)
    ensure_live_tables(warehouse, metrics, active)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 50})

    def start_live() -> list:
        live = [
            # Its own checkpoint since it reads the topic: one kept from when it read the feed
            # has the feed's offsets and no de-duplication state, which Spark cannot resume.
            start(metrics, "live_metrics", metrics_batch(warehouse, AlertEvaluator(), producer),
                  warehouse, trigger, "update", pool="fresh", checkpoint="live_metrics_from_topic",
                  state_store=ROCKSDB_PROVIDER),
            start(active, "live_active_users", update_batch(warehouse, "live_active_users"),
                  warehouse, slow, "update"),
        ]
        # The stateful processor needs RocksDB.
        live.append(start(transform_paths(feed), "live_paths", append_batch(warehouse, "live_paths"),
                          warehouse, slow, state_store=ROCKSDB_PROVIDER))
        for query in live:
            recorder.watch(query)
        return live

    # De-duplication keeps every event id of its watermark: at tens of thousands of events a second,
    # millions of keys, which RocksDB keeps off the driver's heap (checkpoints made before keep theirs).
    ingest = start(transform_ingest(parsed), "ingest", ingest_batch(warehouse), warehouse, ingest_trigger,
                   state_store=ROCKSDB_PROVIDER)
    recorder.watch(ingest)
    try:
        if args.no_live:
            ingest.awaitTermination()
        elif args.mode == "available-now":
            # Active users and paths read what ingest wrote: they run once it has finished.
            ingest.awaitTermination()
            for query in start_live():
                query.awaitTermination()
        else:
            start_live()
            run_until_stopped(spark, StopRequest(spark, settings.streaming_control_uri, started))
    finally:
        producer.flush(10)
        recorder.stop()
        spark.stop()
