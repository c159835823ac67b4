"""The long-running streaming application: Kafka → validated events → exactly-once raw archive.

Usage:
    spark-submit include/spark_jobs/clickstream_streaming.py \\
        [--source clickstream_kafka|kafka] [--trigger-seconds 5] \\
        [--max-offsets-per-trigger N] [--mode continuous|available-now]

Queries:
- raw archive: valid events, de-duplicated by event_id within a 10-minute
  watermark on the collector's receive time, written exactly once into
  ``raw_events`` partitioned by dt/hr of event time, partitions registered
  in Hive through HiveServer2;
- bad events: records failing Event v1 with their reason, into ``bad_events``
  partitioned by dt of arrival.

Configuration comes from the CLICKSTREAM_* environment (clickstream/settings.py).
The source defaults to CLICKSTREAM_KAFKA_SOURCE: ``clickstream_kafka`` (embedded)
reads with the platform's Python data source; ``kafka`` uses Spark's built-in
connector (production).
"""

from __future__ import annotations

import argparse
import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clickstream.settings import Settings, get_settings
from clickstream.streaming.archive import write_batch
from clickstream.streaming.events import bad_events, transform_parse, valid_events
from clickstream.streaming.hive import HivePartitions

log = logging.getLogger("clickstream.streaming")

DEDUP_WATERMARK = "10 minutes"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", choices=["clickstream_kafka", "kafka"], default=None,
                        help="default: CLICKSTREAM_KAFKA_SOURCE")
    parser.add_argument("--trigger-seconds", type=float, default=5.0)
    parser.add_argument("--max-offsets-per-trigger", type=int, default=None)
    parser.add_argument("--mode", choices=["continuous", "available-now"], default="continuous",
                        help="available-now: process what the topic holds now, then stop")
    parser.add_argument("--starting-offsets", default="earliest")
    return parser.parse_args(argv)


def extract_events(spark: SparkSession, settings: Settings, args: argparse.Namespace) -> DataFrame:
    """Return the events topic as a stream with the Kafka source's columns."""
    source = args.source or settings.kafka_source
    if source == "clickstream_kafka":
        from clickstream.streaming.kafka_source import KafkaDataSource

        spark.dataSource.register(KafkaDataSource)
    reader = (
        spark.readStream.format(source)
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.topic_events)
        .option("startingOffsets", args.starting_offsets)
        # The embedded broker loses its log on restart; carry on from the new log's start.
        .option("failOnDataLoss", "false")
    )
    if args.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(args.max_offsets_per_trigger))
    return reader.load()


def transform_raw(parsed: DataFrame) -> DataFrame:
    """Valid events, each event_id once within the watermark on receive time."""
    return (
        valid_events(parsed)
        .withWatermark("received_ts", DEDUP_WATERMARK)
        .dropDuplicatesWithinWatermark(["event_id"])
    )


def transform_bad(parsed: DataFrame) -> DataFrame:
    """Rejected records with their reason, partitioned by the day they arrived."""
    return (
        bad_events(parsed, "topic", "partition", "offset", "timestamp")
        .withColumn("dt", F.date_format("timestamp", "yyyy-MM-dd"))
    )


def load_stream(df: DataFrame, table: str, partition_cols: tuple[str, ...], settings: Settings,
                hive: HivePartitions, trigger: dict, name: str):
    """Start a query writing df exactly once into a warehouse table."""

    def write(batch: DataFrame, batch_id: int) -> None:
        touched = write_batch(batch, batch_id, settings.table_path(table),
                              f"{settings.warehouse_uri.rstrip('/')}/_staging/{table}",
                              partition_cols)
        hive.register(table, partition_cols, touched)

    return (
        df.writeStream.queryName(name).foreachBatch(write)
        .option("checkpointLocation", f"{settings.warehouse_uri.rstrip('/')}/_checkpoints/{name}")
        .trigger(**trigger).start()
    )


def main(argv: list[str] | None = None) -> None:
    """Build the session and run the queries until they stop."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    spark = (
        SparkSession.builder.appName("clickstream-streaming")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    hive = HivePartitions(settings)
    hive.ensure_tables()
    trigger = ({"availableNow": True} if args.mode == "available-now"
               else {"processingTime": f"{args.trigger_seconds} seconds"})
    parsed = transform_parse(extract_events(spark, settings, args))
    queries = [
        load_stream(transform_raw(parsed), "raw_events", ("dt", "hr"), settings, hive, trigger, "raw_events"),
        load_stream(transform_bad(parsed), "bad_events", ("dt",), settings, hive, trigger, "bad_events"),
    ]
    for query in queries:
        query.awaitTermination()


if __name__ == "__main__":
    main()
