"""Exactly-once writes of a micro-batch's outputs into the warehouse, and their Hive registration."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from clickstream import catalog
from clickstream.settings import Settings
from clickstream.streaming.archive import query_owner, write_batch
from clickstream.streaming.compaction import LiveTable
from clickstream.streaming.hive import HivePartitions


class Warehouse:
    """Writes micro-batches exactly once into the warehouse tables and registers their partitions; keeps
    the live tables' partitions compacted (clickstream/streaming/compaction.py)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.hive = HivePartitions(settings)
        self.root = settings.warehouse_uri.rstrip("/")
        self.live: dict[str, LiveTable] = {}

    def write(self, df: DataFrame, batch_id: int, table: str, partitions: tuple[str, ...],
              small: bool = False, aside: dict[str, str] | None = None) -> list[tuple[str, ...]]:
        """Write one batch of a table, register the partitions it touched and return them.

        ``small``: the rows are few (aggregates): one task writes them, without a shuffle.
        ``aside``: partitions that are the application's state, not the table's (``write_batch``).
        A live table's partitions over their number of files are compacted first.
        """
        owner = query_owner(df)
        live = self.live_table(df.sparkSession, table)
        if live is not None:
            live.compact_due(batch_id, owner)
        touched = write_batch(df, batch_id, self.settings.table_path(table), self.staging(table), partitions,
                              owner=owner, small=small, aside=aside,
                              locate=live.location if live is not None else None)
        self.hive.register(table, partitions, touched)
        if live is not None:
            live.written(touched)
        return touched

    def live_table(self, spark: SparkSession, table: str) -> LiveTable | None:
        """Return a live table partitioned by hour (compacted), None for any other table."""
        if table not in self.live and table in catalog.hourly_live_names():
            self.live[table] = LiveTable(
                spark, table, self.settings.table_path(table), catalog.table(table).partition_names,
                self.staging(f"{table}_compaction"), self.hive.set_location,
                self.settings.live_partition_max_files, self.settings.live_compaction_grace_s)
        return self.live.get(table)

    def staging(self, name: str) -> str:
        """Return where a batch's files of a table (or internal state) are written before they move."""
        return f"{self.root}/_staging/{name}"

    def state(self, name: str) -> str:
        """Return the directory of the application's own state between batches (not a table)."""
        return f"{self.root}/_state/{name}"

    def checkpoint(self, name: str) -> str:
        """Return the checkpoint location of a query."""
        return self.settings.checkpoint_path(name)
