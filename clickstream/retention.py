"""Retention and privacy of the warehouse: purge old raw partitions, forget one user.

The raw tables (``raw_events``, ``bad_events``) keep ``raw_retention_days`` days;
the aggregates, reports and live tables are kept. Their partitions are dropped
from the metastore first and their directories deleted after, so no reader sees a
partition without files. Tables are EXTERNAL: dropping a partition alone would
leave its files.

Forgetting a user rewrites every file that holds one of their rows, without
those rows: ``raw_events`` and ``sessions`` by ``user_id``, ``bad_events`` by the
raw record's text. Each file is written next to the original under a hidden name
(Hive and Spark skip names starting with "." or "_") and moved over it; Hadoop's
checksum sidecar (``.<name>.crc``, local file system only) is removed with it.
Aggregates hold no user ids. Topics keep events only for their retention time
(``retention.ms``), so a user's events age out of Kafka by themselves.

Files go through pyarrow's file systems: ``file://`` embedded, ``hdfs://`` on the
cluster (libhdfs from the image's Hadoop client).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyarrow import fs

from clickstream import catalog, storage

RAW_TABLES = catalog.names(catalog.ARCHIVE)


@dataclass(frozen=True)
class UserColumn:
    """Where a table holds a user id: equal to a column, or inside a raw text column."""

    table: str
    column: str
    contains: bool = False

    def matches(self, table: pa.Table, user_id: str) -> pa.Array:
        values = table.column(self.column)
        hit = pc.match_substring(values, user_id) if self.contains else pc.equal(values, user_id)
        return pc.fill_null(hit, False)


USER_COLUMNS = (UserColumn("raw_events", "user_id"), UserColumn("sessions", "user_id"),
                UserColumn("bad_events", "raw", contains=True))


def cutoff_day(today: date, keep_days: int) -> date:
    """The oldest day kept when keeping keep_days days up to and including today."""
    if keep_days < 1:
        raise ValueError("raw_retention_days must be at least 1")
    return today - timedelta(days=keep_days - 1)


def partitions_before(show_partitions: list[tuple], cutoff: date) -> list[dict[str, str]]:
    """From SHOW PARTITIONS rows ("dt=2026-11-01/hr=3"), the partition specs whose dt is before cutoff."""
    specs = []
    for (text,) in show_partitions:
        spec = dict(part.split("=", 1) for part in text.split("/"))
        if spec["dt"] < cutoff.isoformat():
            specs.append(spec)
    return specs


def drop_partitions_sql(database: str, table: str, specs: list[dict[str, str]]) -> str:
    """One ALTER TABLE … DROP IF EXISTS PARTITION statement for every spec."""
    parts = ", ".join("PARTITION (" + ", ".join(f"{k} = '{v}'" for k, v in spec.items()) + ")"
                      for spec in specs)
    return f"ALTER TABLE {database}.{table} DROP IF EXISTS {parts}"


def delete_days(table_uri: str, days: set[str]) -> int:
    """Delete the dt=<day> directories of a table; return how many existed."""
    filesystem, root = storage.from_uri(table_uri)
    deleted = 0
    for day in sorted(days):
        folder = f"{root}/dt={day}"
        if filesystem.get_file_info(folder).type == fs.FileType.Directory:
            filesystem.delete_dir(folder)
            deleted += 1
    return deleted


def _data_files(filesystem: fs.FileSystem, root: str) -> list[str]:
    infos = filesystem.get_file_info(fs.FileSelector(root, recursive=True, allow_not_found=True))
    return sorted(i.path for i in infos if i.type == fs.FileType.File and i.path.endswith(".parquet")
                  and not any(p.startswith((".", "_")) for p in i.path[len(root):].split("/")))


def replace_parquet(filesystem: fs.FileSystem, path: str, table: pa.Table) -> None:
    """Replace one Parquet file of a table with new content, as Spark and Hive can read it.

    Written under a hidden name beside the original and moved over it; Hadoop's checksum
    sidecar (``.<name>.crc``) of the old content is removed, or Spark refuses the file.
    """
    folder, name = path.rsplit("/", 1)
    tmp = f"{folder}/.replace-{uuid.uuid4().hex[:8]}-{name}"
    # Spark reads microseconds; pyarrow would write the nanoseconds it read INT96 timestamps as.
    pq.write_table(table, tmp, filesystem=filesystem, coerce_timestamps="us", allow_truncated_timestamps=True)
    crc = f"{folder}/.{name}.crc"
    if filesystem.get_file_info(crc).type == fs.FileType.File:
        filesystem.delete_file(crc)
    storage.replace(filesystem, tmp, path)


def forget(table_uri: str, where: UserColumn, user_id: str) -> tuple[int, int]:
    """Rewrite every file of a table that holds the user's rows without them; return (files, rows)."""
    filesystem, root = storage.from_uri(table_uri)
    files = rows = 0
    for path in _data_files(filesystem, root):
        with filesystem.open_input_file(path) as f:
            parquet = pq.ParquetFile(f)
            hits = pc.sum(where.matches(parquet.read(columns=[where.column]), user_id)).as_py() or 0
            if not hits:
                continue
            table = parquet.read()
        replace_parquet(filesystem, path, table.filter(pc.invert(where.matches(table, user_id))))
        files += 1
        rows += hits
    return files, rows
