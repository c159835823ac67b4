"""Hive tables of the streaming job, registered through HiveServer2 (both runtimes).

The metastore is HiveServer2's (PostgreSQL in both runtimes), so the
streaming job never opens it: it creates its tables and adds partitions with
HiveQL over HiveServer2, as it would against production's HiveServer2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pyspark.sql.types import (
    BinaryType,
    BooleanType,
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructType,
    TimestampType,
)

from clickstream import catalog
from clickstream.hive import create_database_sql, execute
from clickstream.settings import Settings
from clickstream.streaming.events import archived_struct

log = logging.getLogger("clickstream.hive")

_HIVE_TYPES = {StringType(): "STRING", LongType(): "BIGINT", DoubleType(): "DOUBLE",
               BooleanType(): "BOOLEAN", IntegerType(): "INT", TimestampType(): "TIMESTAMP",
               BinaryType(): "BINARY"}  # the live partials' sketches


def _hive_type(data_type: DataType) -> str:
    return _HIVE_TYPES[data_type]


def columns_of(schema: StructType, partitions: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Return the Hive columns of a DataFrame schema, without its partition columns."""
    return [(f.name, _hive_type(f.dataType)) for f in schema.fields if f.name not in partitions]


def raw_events_columns() -> list[tuple[str, str]]:
    """Return the columns of raw_events (without its dt/hr partition columns)."""
    return columns_of(archived_struct(), ("dt", "hr"))


BAD_EVENTS_COLUMNS = [("raw", "STRING"), ("reason", "STRING"), ("topic", "STRING"),
                      ("partition", "INT"), ("offset", "BIGINT"), ("timestamp", "TIMESTAMP")]


def _partition_spec(cols: tuple[str, ...], values: tuple[str, ...]) -> str:
    return ", ".join(f"`{c}`='{v}'" for c, v in zip(cols, values, strict=True))


class HivePartitions:
    """Creates the streaming tables and registers the partitions each batch touched."""

    ARCHIVE_COLUMNS = {"raw_events": raw_events_columns, "bad_events": lambda: BAD_EVENTS_COLUMNS}

    def __init__(self, settings: Settings):
        self.settings = settings
        self._known: set[tuple[str, tuple[str, ...]]] = set()
        self._tables: set[str] | None = None

    def _execute(self, *statements: str) -> None:
        execute(self.settings, *statements)

    def _exists(self, name: str) -> bool:
        """Whether a table or view exists: one SHOW TABLES per process, not one DDL per table.

        On a restart every table exists: the application's start then costs one round trip to
        HiveServer2 instead of a dozen statements (each a metastore transaction).
        """
        if self._tables is None:
            # The database too: the application may start before the stack's bootstrap creates it.
            rows = execute(self.settings, create_database_sql(self.settings),
                           f"SHOW TABLES IN {self.settings.hive_database}", database=None)
            self._tables = {row[1].lower() for row in rows}
        return name.lower() in self._tables

    def _create(self, name: str, *statements: str) -> None:
        if not self._exists(name):
            self._execute(*statements)
            self._tables.add(name.lower())

    def ensure_tables(self) -> None:
        """Create the streaming job's archive tables if they do not exist."""
        for table in catalog.names(catalog.ARCHIVE):
            self.ensure_table(table, self.ARCHIVE_COLUMNS[table]())

    def ensure_table(self, table: str, columns: list[tuple[str, str]],
                     repartition: Callable[[], None] | None = None, **views: str) -> None:
        """Create a table and views over it (name: DDL) if missing; add the columns a table created by an
        older release lacks.

        A table an older release partitioned otherwise (the live tables by day, before hours) is created
        again: ``repartition`` first moves its files into the catalog's partitions, then the table is
        dropped (external: its files stay), created and its partitions registered from the directories.
        """
        spec = catalog.table(table)  # its partitions and location
        data = tuple((name, kind) for name, kind in columns if name not in spec.partition_names)
        db = self.settings.hive_database
        if self._exists(table):
            have = [row[0] for row in execute(self.settings, catalog.show_columns_sql(db, spec))]
            lacking = [name for name in spec.partition_names if name not in {h.lower() for h in have}]
            if lacking and repartition is not None:
                log.info("%s is not partitioned by %s (an older release's): partitioning it again", table,
                         ", ".join(lacking))
                repartition()
                self._execute(f"DROP TABLE {db}.{table}")
                self._tables.discard(table.lower())
                self._create(table, catalog.create_table_sql(self.settings, spec, data))
                self._execute(f"MSCK REPAIR TABLE {db}.{table}")
            elif added := catalog.add_columns_sql(db, spec, have, data):
                self._execute(added)
                log.info("added to %s the columns it lacked: %s", table, added)
        self._create(table, catalog.create_table_sql(self.settings, spec, data))
        for name, ddl in views.items():
            self._create(name, ddl)

    def replace_views(self, *ddl: str) -> None:
        """Create or replace views (``CREATE OR REPLACE VIEW`` statements)."""
        self._execute(*ddl)

    def set_location(self, table: str, cols: tuple[str, ...], values: tuple[str, ...], location: str) -> None:
        """Point a partition at another directory (a compacted live partition's new generation), adding
        it there if it was never registered; one metastore transaction each."""
        name, spec = f"{self.settings.hive_database}.{table}", _partition_spec(cols, values)
        self._execute(f"ALTER TABLE {name} ADD IF NOT EXISTS PARTITION ({spec}) LOCATION '{location}'",
                      f"ALTER TABLE {name} PARTITION ({spec}) SET LOCATION '{location}'")
        self._known.add((table, values))

    def register(self, table: str, cols: tuple[str, ...], touched: list[tuple[str, ...]]) -> None:
        """Add the partitions a batch wrote that this process has not registered yet."""
        new = [values for values in touched if (table, values) not in self._known]
        if not new:
            return
        specs = [f"PARTITION ({_partition_spec(cols, values)})" for values in new]
        self._execute(f"ALTER TABLE {self.settings.hive_database}.{table} ADD IF NOT EXISTS "
                      + " ".join(specs))
        self._known.update((table, values) for values in new)
        log.info("registered %d new partitions of %s", len(new), table)
