"""Exactly-once writes of a micro-batch's outputs into the warehouse, and their Hive registration."""

from __future__ import annotations

from pyspark.sql import DataFrame

from clickstream.settings import Settings
from clickstream.streaming.archive import query_owner, write_batch
from clickstream.streaming.hive import HivePartitions


class Warehouse:
    """Writes micro-batches exactly once into the warehouse tables and registers their partitions."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.hive = HivePartitions(settings)
        self.root = settings.warehouse_uri.rstrip("/")

    def write(self, df: DataFrame, batch_id: int, table: str, partitions: tuple[str, ...],
              small: bool = False) -> None:
        """Write one batch of a table and register the partitions it touched.

        ``small``: the rows are few (aggregates): one task writes them, without a shuffle.
        """
        touched = write_batch(df, batch_id, self.settings.table_path(table), self.staging(table),
                              partitions, owner=query_owner(df), small=small)
        self.hive.register(table, partitions, touched)

    def staging(self, name: str) -> str:
        """Return where a batch's files of a table (or internal state) are written before they move."""
        return f"{self.root}/_staging/{name}"

    def state(self, name: str) -> str:
        """Return the directory of the application's own state between batches (not a table)."""
        return f"{self.root}/_state/{name}"

    def checkpoint(self, name: str) -> str:
        """Return the checkpoint location of a query."""
        return self.settings.checkpoint_path(name)
