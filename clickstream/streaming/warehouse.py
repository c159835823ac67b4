"""Exactly-once writes of a micro-batch's outputs into the warehouse, and their Hive registration."""

from __future__ import annotations

from pyspark.sql import DataFrame

from clickstream.settings import Settings
from clickstream.streaming.archive import batch_file, query_owner, write_batch
from clickstream.streaming.hive import HivePartitions


class Warehouse:
    """Writes micro-batches exactly once into the warehouse tables and registers their partitions."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.hive = HivePartitions(settings)
        self.root = settings.warehouse_uri.rstrip("/")

    def write(self, df: DataFrame, batch_id: int, table: str, partitions: tuple[str, ...],
              small: bool = False, aside: dict[str, str] | None = None) -> list[str]:
        """Write one batch of a table, register the partitions it touched and return the files written.

        ``small``: the rows are few (aggregates): one task writes them, without a shuffle.
        ``aside``: partitions that are the application's state, not the table's (``write_batch``).
        """
        owner, location = query_owner(df), self.settings.table_path(table)
        touched = write_batch(df, batch_id, location, self.staging(table), partitions, owner=owner,
                              small=small, aside=aside)
        self.hive.register(table, partitions, touched)
        return [batch_file(location, dict(zip(partitions, values, strict=True)), batch_id, owner)
                for values in touched]

    def staging(self, name: str) -> str:
        """Return where a batch's files of a table (or internal state) are written before they move."""
        return f"{self.root}/_staging/{name}"

    def state(self, name: str) -> str:
        """Return the directory of the application's own state between batches (not a table)."""
        return f"{self.root}/_state/{name}"

    def checkpoint(self, name: str) -> str:
        """Return the checkpoint location of a query."""
        return self.settings.checkpoint_path(name)
