"""The streaming application: one query over the events topic, every output from its micro-batches.

include/spark_jobs/clickstream_streaming.py is its main (arguments); this module wires the query
(docs/streaming.md):
- ``ingest`` reads the events topic once, parses and validates every record once in the JVM
  (clickstream/streaming/events.py), and drops repeated event ids within a 10-minute watermark on the
  broker timestamp (RocksDB state);
- its ``foreachBatch`` (clickstream/streaming/batch.py) writes, exactly once, valid events to
  ``raw_events``, rejected records to ``bad_events``, the live partials the Live page's views merge
  (metrics, active users), navigation paths and alerts (table and topic);
- the progress of the query goes to ``stream_progress``.

Every table is registered in Hive through HiveServer2 as it gets new partitions. Configuration comes
from the CLICKSTREAM_* environment (clickstream/settings.py). Kafka is read with Spark's own connector
(``format("kafka")``, its jars passed with ``--jars``) in both runtimes. A query whose offsets are no
longer in the topic (retention deleted them, or the broker's log was reset) stops it before it starts,
naming the partitions and why, rather than skip them; an operator who accepts the loss restarts it once
with ``--no-fail-on-data-loss``.

A data directory written by the application of four queries keeps working: ``ingest`` keeps its
checkpoint (the same source and de-duplication), so it goes on from the offsets it committed; the
other queries' checkpoints and the feed between them are retired (``upgrade``).

The application records where it runs and stops between micro-batches, exiting 0, when a stop is
requested (``make stop`` does; clickstream/streaming/lifecycle.py).
"""

from __future__ import annotations

import argparse
import logging
import time
from functools import partial

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clickstream import catalog
from clickstream.hive import wait_until_answering
from clickstream.settings import Settings, get_settings
from clickstream.streaming.alerts import ALERT_COLUMNS
from clickstream.streaming.archive import (
    exists,
    newest_days,
    remove,
    remove_unfinished_log_writes,
    retire_checkpoint,
)
from clickstream.streaming.batch import EventsBatch
from clickstream.streaming.events import archived_struct, transform_parse
from clickstream.streaming.hive import columns_of
from clickstream.streaming.hour_partitions import into_hours
from clickstream.streaming.kafka_offsets import (
    TOPIC_READERS,
    DataLossError,
    lost_offsets_error,
    retire_python_source_checkpoints,
)
from clickstream.streaming.lifecycle import StopRequest, record_application, run_until_stopped
from clickstream.streaming.live_store import LiveStore
from clickstream.streaming.metrics import active_user_parts, active_users_sql, metric_parts, metrics_sql
from clickstream.streaming.paths import PATHS_SCHEMA
from clickstream.streaming.progress import HIVE_COLUMNS as PROGRESS_COLUMNS
from clickstream.streaming.progress import ProgressRecorder
from clickstream.streaming.session import build_session
from clickstream.streaming.warehouse import Warehouse
from clickstream.topics import log_bounds, require_topics

log = logging.getLogger("clickstream.streaming")

QUERY = "ingest"
DEDUP_WATERMARK = "10 minutes"
HIVE_WAIT_S = 180  # HiveServer2's start timeout in the embedded stack
# The checkpoints of the queries the application ran before it read the topic once (and their feed).
RETIRED_QUERIES = ("live_metrics_from_topic", "live_metrics", "live_active_users", "live_paths")
RETIRED_FEED = "_feed"
# How long the broker may hold a fetch of the read tasks' consumers (Kafka's default: 500 ms). A consumer
# prefetches past the offsets it was asked for; at the next batch, the partition's fetch waits for that
# prefetch, which the broker holds until new records come or this time passes. Each read task reads three
# of the six partitions in turn: at 1,000 events/s its run time was 0.4-1.6 s for 60 ms of CPU; with 20 ms,
# about 0.2 s (docs/streaming.md, "Trigger"). Spark asks only for offsets the topic has, so a short wait
# makes no busy polling at rest.
FETCH_WAIT_MS = 20


def extract_events(spark: SparkSession, settings: Settings, args: argparse.Namespace) -> DataFrame:
    """Return the events topic as a stream with the Kafka source's columns."""
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.topic_events)
        .option("startingOffsets", args.starting_offsets)
        .option("failOnDataLoss", str(args.fail_on_data_loss).lower())
        .option("kafka.fetch.max.wait.ms", str(FETCH_WAIT_MS))
    )
    if args.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(args.max_offsets_per_trigger))
    if args.mode == "continuous" and args.min_batch_events > 1:
        # A batch costs about a second of the driver's time however few its events: at a trickle, wait
        # until this many have arrived, or the delay has passed (docs/streaming.md, "Trigger").
        reader = (reader.option("minOffsetsPerTrigger", str(args.min_batch_events))
                  .option("maxTriggerDelay", f"{args.max_batch_delay_seconds}s"))
    # One task per core, not per topic partition: each task of the parse deserializes and generates the
    # code of its hundreds of expressions, whatever its records. Six partitions on two cores were six
    # such tasks a batch for the same work (docs/streaming.md, "State and cost at rest").
    return reader.load().coalesce(spark.sparkContext.defaultParallelism)


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


def ensure_live_tables(warehouse: Warehouse, spark: SparkSession) -> None:
    """Create the live tables (columns from the batch's schemas) and (again) the views merging them."""
    hive, db = warehouse.hive, warehouse.settings.hive_database
    events = spark.createDataFrame([], archived_struct())
    batch_id = [("batch_id", "BIGINT")]
    hourly = {"live_metrics_parts": columns_of(metric_parts(events).schema) + batch_id,
              "live_active_users_parts": columns_of(active_user_parts(events).schema) + batch_id,
              "live_paths": columns_of(PATHS_SCHEMA), "live_alerts": ALERT_COLUMNS}
    for name, columns in hourly.items():
        # A table partitioned by day (a release before hour partitions): its files moved into hours first.
        by_hour = partial(into_hours, spark, warehouse.settings.table_path(name), catalog.table(name).hour_of,
                          warehouse.staging(f"{name}_by_hour"))
        hive.ensure_table(name, columns, repartition=by_hour)
        # A generation a crash left unswitched is switched; superseded ones are deleted after the grace.
        warehouse.live_table(spark, name).recover(newest_days(spark, warehouse.settings.table_path(name)))
    hive.ensure_table("stream_progress", PROGRESS_COLUMNS)
    # Replaced at every start: a data directory from before the partials has views over other tables.
    hive.replace_views(
        f"CREATE OR REPLACE VIEW {db}.live_metrics_latest AS {metrics_sql(f'{db}.live_metrics_parts')}",
        f"CREATE OR REPLACE VIEW {db}.live_active_users_latest AS "
        f"{active_users_sql(f'{db}.live_active_users_parts')}")


def upgrade(spark: SparkSession, warehouse: Warehouse) -> None:
    """Retire what the application of four queries left that this one does not read."""
    for name in RETIRED_QUERIES:
        location = warehouse.checkpoint(name)
        if exists(spark, location):
            log.info("retired the checkpoint of the former query %s: %s", name,
                     retire_checkpoint(spark, location, "retired"))
    feed = f"{warehouse.root}/{RETIRED_FEED}"
    if exists(spark, feed):
        remove(spark, feed)
        log.info("removed the former queries' internal feed %s (raw_events holds its events)", feed)


def start(df: DataFrame, run, warehouse: Warehouse, trigger: dict):
    """Start the query; its checkpoint is in the warehouse."""
    location = warehouse.checkpoint(QUERY)
    # A kill -9 while Spark wrote the first batch's offsets would otherwise keep the query down.
    remove_unfinished_log_writes(df.sparkSession, location)
    return (
        df.writeStream.queryName(QUERY).outputMode("append").foreachBatch(run)
        .option("checkpointLocation", location).trigger(**trigger).start()
    )


def run(args: argparse.Namespace) -> None:
    """Build the session and run the query until it stops (or, available-now, until it is done)."""
    from confluent_kafka import Producer

    started = time.time()
    settings = get_settings()
    # Spark's source waits forever on a topic that does not exist; say so before starting instead.
    require_topics(settings, settings.topic_events, settings.topic_alerts)
    spark = build_session()
    warehouse = Warehouse(settings)
    record_application(spark, settings.streaming_control_uri, started)
    readers = [warehouse.checkpoint(name) for name in TOPIC_READERS]
    retire_python_source_checkpoints(spark, readers)
    if args.fail_on_data_loss:
        bounds = {settings.topic_events: log_bounds(settings, settings.topic_events)}
        problem = lost_offsets_error(spark, readers, bounds)
        if problem:
            raise DataLossError(problem)
    upgrade(spark, warehouse)
    # Started with the stack, the application may be up before HiveServer2 (its tables' metastore).
    waited = wait_until_answering(settings, HIVE_WAIT_S)
    if waited > 1:
        log.info("waited %.0f s for HiveServer2", waited)
    warehouse.hive.ensure_tables()
    if not args.no_live:
        ensure_live_tables(warehouse, spark)
    recorder = ProgressRecorder(
        settings.table_path("stream_progress"),
        register=lambda touched: warehouse.hive.register("stream_progress", ("dt",), touched),
        flush_s=args.progress_flush_seconds)
    recorder.start()
    if args.mode == "available-now":
        trigger = {"availableNow": True}
    else:
        trigger = {"processingTime": f"{args.trigger_seconds} seconds"}
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 50})
    # The Live page's store of the recent windows (its table created at the first publish).
    store = None if args.no_live else LiveStore(settings.live_store_url, settings.hive_database)
    batch = EventsBatch(warehouse, producer, live=not args.no_live, store=store)
    query = start(transform_ingest(transform_parse(extract_events(spark, settings, args))), batch, warehouse,
                  trigger)
    recorder.watch(query)
    try:
        if args.mode == "available-now":
            query.awaitTermination()
        else:
            run_until_stopped(spark, StopRequest(spark, settings.streaming_control_uri, started))
    finally:
        producer.flush(10)
        if store is not None:
            store.close()
        recorder.stop()
        spark.stop()
