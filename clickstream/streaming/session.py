"""The streaming application's Spark session: what it is configured with, and why (docs/streaming.md)."""

from __future__ import annotations

from py4j.java_gateway import JavaClass
from pyspark.sql import SparkSession

# De-duplication keeps every event id of its watermark: at tens of thousands of events a second,
# millions of keys, which RocksDB keeps off the driver's heap.
ROCKSDB_PROVIDER = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"


def build_session() -> SparkSession:
    """Build (or get) the application's session."""
    spark = (
        SparkSession.builder.appName("clickstream-streaming")
        .config("spark.sql.session.timeZone", "UTC")
        # A micro-batch is cached for its writes and dropped: compressing the cache
        # (measured: ~10 % of the ingest's CPU) saves nothing worth having.
        .config("spark.sql.inMemoryColumnarStorage.compressed", "false")
        # Every batch plans the same dozen jobs: keep their generated classes (Spark's default keeps 100).
        .config("spark.sql.codegen.cache.maxEntries", "2000")
        # Each batch's partials carry HLL and KLL sketches per (window, app, breakdown): past 128 groups
        # in a task Spark would fall back to sorting them (and generating code for it) in every batch.
        .config("spark.sql.objectHashAggregate.sortBased.fallbackThreshold", "1000000")
        .config("spark.sql.streaming.stateStore.providerClass", ROCKSDB_PROVIDER)
        # RocksDB commits write the batch's changes, not a snapshot of the store (snapshots are made in
        # the background); existing checkpoints switch over on their next batch (docs/streaming.md).
        .config("spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled", "true")
        # No batch without new records: a batch that only moves the watermark (to evict de-duplication
        # state, which the next batch does as well) cost as much as a batch of events at make run's load.
        .config("spark.sql.streaming.noDataMicroBatches.enabled", "false")
        # A Python worker that crashes leaves its traceback (or the C stack) in the task's error.
        .config("spark.python.worker.faulthandler.enabled", "true")
        # PySpark's DataFrame debugging sends the Python call site to the JVM around every Column and
        # function call: a JVM class lookup, a configuration read and two calls more, which took an
        # F.col from 0.6 to 1.7 ms of the JVM's CPU (measured), hundreds of times a batch. Errors
        # still name the failing expression; they lose the Python line that built it.
        .config("spark.python.sql.dataFrameDebugging.enabled", "false")
        .getOrCreate()
    )
    if not spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        # Small stages: one shuffle partition per local core unless told otherwise
        # (--conf spark.sql.shuffle.partitions=… on a cluster). Kept in each checkpoint.
        spark.conf.set("spark.sql.shuffle.partitions", str(spark.sparkContext.defaultParallelism))
    return spark


def jvm_class(spark: SparkSession, name: str) -> JavaClass:
    """Return a JVM class by its full name.

    Py4J resolves ``spark._jvm.org.apache…`` one name at a time, each a class search that fails through
    every jar of the classpath and every package PySpark imports: about 1 ms of the JVM's CPU a lookup
    (measured), in every micro-batch. A class named in full is found at once.
    """
    return JavaClass(name, spark.sparkContext._gateway._gateway_client)
