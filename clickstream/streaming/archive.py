"""Exactly-once Parquet archive for readers that list directories (Hive, MSCK REPAIR).

Spark's file sink is exactly-once only for readers of its ``_spark_metadata``
log; a failed batch can leave partial or duplicate files that Hive would read.
Here each micro-batch writes one file per ``dt``/``hr`` partition into a
staging directory, then renames each into the table under a name made from
the batch id and the query's id — ``dt=…/hr=…/batch-0000000042-1f2e3d4c.parquet``.
A replayed batch (same offsets, same rows) rewrites the same names, so
whatever step a failure interrupted, the table ends with each event exactly
once. The query id (which survives restarts from the checkpoint) keeps a new
checkpoint, whose batch ids start again at 0, from overwriting older files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession

from clickstream.streaming.monitor import offsets_entry
from clickstream.streaming.session import jvm_class

log = logging.getLogger("clickstream.archive")


class HadoopFs:
    """The Hadoop FileSystem of a URI, through Spark's JVM (file://, hdfs://)."""

    def __init__(self, spark: SparkSession, uri: str):
        self._Path = jvm_class(spark, "org.apache.hadoop.fs.Path")
        self.fs = self._Path(uri).getFileSystem(spark._jsc.hadoopConfiguration())

    def path(self, uri: str):
        return self._Path(uri)

    def list(self, uri: str) -> list:
        path = self.path(uri)
        return list(self.fs.listStatus(path)) if self.fs.exists(path) else []

    def replace(self, src: str, dst: str) -> None:
        """Move src to dst, replacing dst (rename does not overwrite on HDFS)."""
        dst_path = self.path(dst)
        self.fs.mkdirs(dst_path.getParent())
        if self.fs.exists(dst_path):
            self.fs.delete(dst_path, False)
        if not self.fs.rename(self.path(src), dst_path):
            raise OSError(f"could not rename {src} to {dst}")

    def delete(self, uri: str) -> None:
        self.fs.delete(self.path(uri), True)


def batch_file_name(batch_id: int, owner: str = "") -> str:
    """Return the file name of one micro-batch in each partition it touches."""
    return f"batch-{batch_id:010d}{'-' + owner if owner else ''}.parquet"


def partition_dir(table_uri: str, columns: tuple[str, ...], values: tuple[str, ...]) -> str:
    """Return a partition's own directory: ``<table>/<col>=<value>/…``."""
    return "/".join([table_uri.rstrip("/"), *(f"{c}={v}" for c, v in zip(columns, values, strict=True))])


def batch_file(table_uri: str, partition: dict[str, str], batch_id: int, owner: str = "") -> str:
    """Return the file of one micro-batch in one partition of a table."""
    directory = partition_dir(table_uri, tuple(partition), tuple(partition.values()))
    return f"{directory}/{batch_file_name(batch_id, owner)}"


def query_owner(df: DataFrame) -> str:
    """Return a short tag of the streaming query running this foreachBatch (its checkpoint's id)."""
    query_id = df.sparkSession.sparkContext.getLocalProperty("sql.streaming.queryId")
    return query_id.split("-")[0] if query_id else ""


def write_batch(df: DataFrame, batch_id: int, table_uri: str, staging_uri: str,
                partition_cols: tuple[str, ...] = ("dt", "hr"), owner: str = "",
                small: bool = False, aside: dict[str, str] | None = None,
                locate: Callable[[tuple[str, ...]], str] | None = None) -> list[tuple[str, ...]]:
    """Write a micro-batch into the table exactly once; return the partitions it touched.

    ``small``: few rows, written by one task (no shuffle); otherwise one task per partition value.
    ``locate``: the directory of a partition (by its values), when it is not ``<table>/<col>=<value>/…``
    (a compacted live partition: clickstream/streaming/compaction.py).
    ``aside``: {value of the first partition column: directory}: that partition's file goes into the
    directory, named by the batch (``batch_file_name(batch_id)``), not into the table: state the batch
    leaves for the next one, written by the same job as the table's rows. Nothing is written for a value
    without rows.
    """
    spark = df.sparkSession
    fs = HadoopFs(spark, table_uri)
    staging = f"{staging_uri.rstrip('/')}/batch={batch_id}"
    # Each partition value's rows in one task: exactly one file per partition per batch.
    one_task_each = df.coalesce(1) if small else df.repartition(*partition_cols)
    one_task_each.write.mode("overwrite").partitionBy(*partition_cols).parquet(staging)
    touched = []
    for src, values in data_files(fs, staging, partition_cols):
        if aside and values[0] in aside:
            fs.replace(src, f"{aside[values[0]].rstrip('/')}/{batch_file_name(batch_id)}")
            continue
        if locate is not None:
            fs.replace(src, f"{locate(values).rstrip('/')}/{batch_file_name(batch_id, owner)}")
        else:
            partition = dict(zip(partition_cols, values, strict=True))
            fs.replace(src, batch_file(table_uri, partition, batch_id, owner))
        touched.append(values)
    fs.delete(staging)
    log.info("batch %d: %d partition files into %s", batch_id, len(touched), table_uri)
    return sorted(touched)


def write_file(df: DataFrame, batch_id: int, dir_uri: str, staging_uri: str, owner: str = "") -> None:
    """Write a (non-empty) micro-batch as one file in an unpartitioned directory, exactly once."""
    fs = HadoopFs(df.sparkSession, dir_uri)
    staging = f"{staging_uri.rstrip('/')}/batch={batch_id}"
    df.coalesce(1).write.mode("overwrite").parquet(staging)
    (src, _), = data_files(fs, staging, ())
    fs.replace(src, f"{dir_uri.rstrip('/')}/{batch_file_name(batch_id, owner)}")
    fs.delete(staging)


def _batch_files(fs: HadoopFs, dir_uri: str) -> list[tuple[int, str]]:
    """Return (batch id, path) of the batch files of a directory, oldest first."""
    found = []
    for status in fs.list(dir_uri):
        name = status.getPath().getName()
        if status.isFile() and name.startswith("batch-") and name.endswith(".parquet"):
            found.append((int(name[len("batch-"):].split("-")[0].split(".")[0]), str(status.getPath())))
    return sorted(found)


def latest_batch_file(spark: SparkSession, dir_uri: str, before: int) -> str | None:
    """Return the newest batch file of a directory written by a batch before ``before``, if any."""
    files = [path for batch_id, path in _batch_files(HadoopFs(spark, dir_uri), dir_uri) if batch_id < before]
    return files[-1] if files else None


def prune_batch_files(spark: SparkSession, dir_uri: str, keep: int) -> int:
    """Delete all but the newest ``keep`` batch files of a directory; return how many."""
    fs = HadoopFs(spark, dir_uri)
    old = _batch_files(fs, dir_uri)[:-keep]
    for _, path in old:
        fs.delete(path)
    return len(old)


def newest_days(spark: SparkSession, table_uri: str, days: int = 2) -> list[str]:
    """Return the ``dt=…`` partition directories of a table's newest day and the ``days - 1`` calendar days
    before it, oldest first: what a restart reads back, rather than every day the table ever kept."""
    fs = HadoopFs(spark, table_uri)
    found = {}
    for status in fs.list(table_uri):
        name = status.getPath().getName()
        if status.isDirectory() and name.startswith("dt="):
            found[date.fromisoformat(name.removeprefix("dt="))] = str(status.getPath())
    if not found:
        return []
    first = max(found) - timedelta(days=days - 1)
    return [found[day] for day in sorted(found) if day >= first]


def exists(spark: SparkSession, uri: str) -> bool:
    """Return whether a path exists."""
    fs = HadoopFs(spark, uri)
    return bool(fs.fs.exists(fs.path(uri)))


def modified_at(spark: SparkSession, uri: str) -> float | None:
    """Return a file's modification time (seconds since the epoch), None when it does not exist."""
    fs = HadoopFs(spark, uri)
    path = fs.path(uri)
    if not fs.fs.exists(path):
        return None
    return fs.fs.getFileStatus(path).getModificationTime() / 1000


def write_text(spark: SparkSession, uri: str, text: str) -> None:
    """Write a small text file, replacing it whole: written aside, then renamed over the old one."""
    fs = HadoopFs(spark, uri)
    staging = f"{uri}.tmp-{spark.sparkContext.applicationId}"
    out = fs.fs.create(fs.path(staging), True)
    try:
        out.write(bytearray(text.encode()))
    finally:
        out.close()
    fs.replace(staging, uri)


def remove(spark: SparkSession, uri: str) -> None:
    """Delete a file or a directory and everything in it."""
    HadoopFs(spark, uri).delete(uri)


def make_dirs(spark: SparkSession, uri: str) -> None:
    """Create a directory and its parents if they do not exist."""
    fs = HadoopFs(spark, uri)
    fs.fs.mkdirs(fs.path(uri))


def prune(spark: SparkSession, dir_uri: str, older_than_s: float) -> int:
    """Delete the files of a directory older than a number of seconds; return how many."""
    import time

    fs = HadoopFs(spark, dir_uri)
    cutoff = (time.time() - older_than_s) * 1000
    old = [s for s in fs.list(dir_uri) if s.isFile() and s.getModificationTime() < cutoff]
    for status in old:
        fs.fs.delete(status.getPath(), False)
    return len(old)


def remove_unfinished_log_writes(spark: SparkSession, checkpoint_uri: str) -> list[str]:
    """Delete a checkpoint's half-written log entries (``offsets/.0.<uuid>.tmp``); return their names.

    Spark writes each offsets and commits entry to a hidden temporary file and renames it. A
    process killed in between leaves the temporary file behind. Spark skips it when it reads the
    log, but a query whose first batch was never written refuses to start while its offsets
    directory holds anything (STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY), so a crash during the
    first batch would stop it for good. Call only while no query uses the checkpoint.
    """
    fs = HadoopFs(spark, checkpoint_uri)
    removed = []
    for log_dir in ("offsets", "commits"):
        for status in fs.list(f"{checkpoint_uri.rstrip('/')}/{log_dir}"):
            name = status.getPath().getName()
            # Hadoop's local file system deletes a file's .crc with it (and does not list it).
            if status.isFile() and name.startswith(".") and name.endswith(".tmp"):
                fs.fs.delete(status.getPath(), False)
                removed.append(f"{log_dir}/{name}")
    if removed:
        log.warning("removed half-written checkpoint files of a killed run: %s", ", ".join(sorted(removed)))
    return sorted(removed)


def planned_offsets(spark: SparkSession, checkpoint_uri: str) -> dict[str, dict[str, int]]:
    """Return the source offsets of a checkpoint's newest offsets-log entry ({topic: {partition: offset}}).

    That entry is where the newest micro-batch the query planned ends; {} for a query that never ran.
    An entry is "v1", the batch's metadata, then one line per source (Spark's Kafka offset JSON).
    """
    fs = HadoopFs(spark, checkpoint_uri)
    entries = [st for st in fs.list(f"{checkpoint_uri.rstrip('/')}/offsets")
               if st.isFile() and st.getPath().getName().isdigit()]
    if not entries:
        return {}
    newest = max(entries, key=lambda st: int(st.getPath().getName()))
    stream = fs.fs.open(newest.getPath())
    try:
        text = jvm_class(spark, "org.apache.commons.io.IOUtils").toString(stream, "UTF-8")
    finally:
        stream.close()
    return offsets_entry(text)


def retire_checkpoint(spark: SparkSession, checkpoint_uri: str, suffix: str) -> str:
    """Move a checkpoint aside (to <checkpoint>.<suffix>) so that its query starts afresh; return where."""
    fs = HadoopFs(spark, checkpoint_uri)
    target = f"{checkpoint_uri.rstrip('/')}.{suffix}"
    if not fs.fs.rename(fs.path(checkpoint_uri), fs.path(target)):
        raise OSError(f"could not move {checkpoint_uri} to {target}")
    return target


def data_files(fs: HadoopFs, root: str, cols: tuple[str, ...], values: tuple[str, ...] = ()):
    """Yield (file uri, partition values) of the Parquet files under a partitioned directory."""
    for status in fs.list(root):
        name = status.getPath().getName()
        if name.startswith(("_", ".")):
            continue
        if status.isDirectory() and len(values) < len(cols) and name.startswith(f"{cols[len(values)]}="):
            yield from data_files(fs, status.getPath().toString(), cols,
                                   (*values, name.split("=", 1)[1]))
        elif status.isFile() and name.endswith(".parquet") and len(values) == len(cols):
            files = [s for s in fs.list(root) if s.getPath().getName().endswith(".parquet")
                     and not s.getPath().getName().startswith(("_", "."))]
            if len(files) != 1:
                raise RuntimeError(f"expected one file in {root}, found {len(files)}")
            yield status.getPath().toString(), values
