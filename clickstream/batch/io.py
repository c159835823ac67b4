"""Read archived events and overwrite exactly the partitions of a batch table a job computed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from pyspark.sql import DataFrame, SparkSession

from clickstream.settings import Settings
from clickstream.streaming.archive import exists
from clickstream.streaming.events import archived_struct


def batch_session(app_name: str) -> SparkSession:
    """The batch jobs' Spark session: UTC, with Spark's defaults tuned by use_local_parallelism."""
    spark = SparkSession.builder.appName(app_name).config("spark.sql.session.timeZone", "UTC").getOrCreate()
    use_local_parallelism(spark)
    return spark


def use_local_parallelism(spark: SparkSession) -> None:
    """Tune Spark's defaults for one machine's cores, unless the submitter set them (a cluster does).

    One shuffle partition per core: Spark's default of 200 costs more than a laptop's day of events.
    """
    conf = spark.sparkContext.getConf()
    if not conf.contains("spark.sql.shuffle.partitions"):
        spark.conf.set("spark.sql.shuffle.partitions", str(spark.sparkContext.defaultParallelism))
    if not conf.contains("spark.sql.inMemoryColumnarStorage.compressed"):
        # What the daily job caches (small intermediate results) is read again within seconds:
        # compressing it costs more than it saves.
        spark.conf.set("spark.sql.inMemoryColumnarStorage.compressed", "false")


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    """Return the start of every whole UTC hour in [start, end)."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour < end:
        if hour >= start:
            hours.append(hour)
        hour += timedelta(hours=1)
    return hours


def raw_hour_path(settings: Settings, hour: datetime) -> str:
    """Return the raw_events directory of one hour (partitioned by event time)."""
    return f"{settings.table_path('raw_events')}/dt={hour:%Y-%m-%d}/hr={hour.hour}"


def read_raw_hours(spark: SparkSession, settings: Settings, hours: Iterable[datetime]) -> DataFrame:
    """Return the archived events of the given hours (an hour with no directory has no events)."""
    paths = [p for p in (raw_hour_path(settings, h) for h in hours) if exists(spark, p)]
    schema = archived_struct()
    if not paths:
        return spark.createDataFrame([], schema)
    # basePath makes dt/hr come back as columns, typed by the archive's schema.
    return (spark.read.schema(schema).option("basePath", settings.table_path("raw_events"))
            .parquet(*paths))


def day_window(day: date, spill: timedelta) -> tuple[datetime, datetime]:
    """Return [start, end) of a day widened by the spill margin on both sides."""
    midnight = datetime.combine(day, time(0), UTC)
    return midnight - spill, midnight + timedelta(days=1) + spill


def partition_path(settings: Settings, table: str, **partition: object) -> str:
    """Return the directory of one partition of a table, e.g. ``.../hourly_pages/dt=…/hr=…``."""
    return "/".join([settings.table_path(table), *(f"{k}={v}" for k, v in partition.items())])


def overwrite_partition(df: DataFrame, settings: Settings, table: str, order_by: list[str],
                        **partition: object) -> str:
    """Replace one partition's content with df as one sorted file (an empty df leaves an empty file)."""
    path = partition_path(settings, table, **partition)
    # repartition, not coalesce: coalesce(1) would also run the aggregation before it in one task.
    df.repartition(1).sortWithinPartitions(*order_by).write.mode("overwrite").parquet(path)
    return path


def overwrite_partitions(df: DataFrame, settings: Settings, table: str, order_by: list[str],
                         partition_by: Sequence[str]) -> set[tuple]:
    """Replace the partitions df has rows for, each with one sorted file; return their keys.

    Dynamic overwrite: the table's other partitions are left as they are.
    """
    ordered = df.repartition(*partition_by).sortWithinPartitions(*partition_by, *order_by)
    (ordered.write.mode("overwrite").option("partitionOverwriteMode", "dynamic")
     .partitionBy(*partition_by).parquet(settings.table_path(table)))
    return {tuple(row) for row in df.select(*partition_by).distinct().collect()}
