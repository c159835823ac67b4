"""Every include/hql file is valid HiveQL (sqlglot's Hive dialect) and runs on the embedded HiveServer2."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from clickstream import catalog
from clickstream.hive import HQL_DIR, render_hql, split_statements
from clickstream.reconcile import COLUMNS as RECONCILIATION_COLUMNS
from clickstream.streaming.hive import _hive_type
from simulators.ledger import LEDGER_SCHEMA
from tests.support.ddl import declared_tables

HQL_FILES = sorted(p.name for p in HQL_DIR.glob("*.hql"))
CONTEXT = {"data_interval_start": datetime(2026, 11, 20, 10, tzinfo=UTC)}


def test_every_hql_file_is_found():
    assert {"create_tables.hql", "add_hourly_partitions.hql", "add_daily_partitions.hql"} <= set(HQL_FILES)
    assert sum(name.startswith("report_") for name in HQL_FILES) == 5


@pytest.mark.parametrize("name", HQL_FILES)
def test_hql_parses_as_hive(name, settings):
    statements = split_statements(render_hql(name, settings, **CONTEXT))
    assert statements
    for sql in statements:
        if sql.startswith("MSCK "):  # Hive's partition repair, which sqlglot does not parse
            assert re.fullmatch(r"MSCK REPAIR TABLE \w+\.\w+", sql), sql
            continue
        parsed = sqlglot.parse_one(sql, read="hive", error_level=sqlglot.ErrorLevel.RAISE)
        # A statement sqlglot does not understand comes back as an opaque Command: not checked, so refused.
        assert not isinstance(parsed, exp.Command), sql


def test_ddl_columns_are_what_the_jobs_write(spark, settings):
    from clickstream.batch.hourly import transform_hourly_pages, transform_hourly_sections
    from clickstream.batch.jobs import transform_day
    from clickstream.streaming.events import archived_struct

    empty = spark.createDataFrame([], archived_struct())
    written = {"hourly_pages": transform_hourly_pages(empty),
               "hourly_sections": transform_hourly_sections(empty),
               **transform_day(empty, date(2026, 11, 20), funnel_window_s=3600, top_paths=10)}
    assert set(written) == set(catalog.names(catalog.HOURLY, catalog.DAILY))
    declared = declared_tables(settings)
    for table, df in written.items():
        assert declared[table] == [(f.name, _hive_type(f.dataType)) for f in df.schema.fields], table


def test_ledger_ddl_is_what_the_simulators_write(settings):
    arrow_to_hive = {pa.int32(): "INT", pa.int64(): "BIGINT", pa.string(): "STRING",
                     pa.map_(pa.string(), pa.int64()): "MAP<STRING, BIGINT>"}
    written = [(f.name, arrow_to_hive[f.type]) for f in LEDGER_SCHEMA]
    assert declared_tables(settings)["sim_ledger"] == written


def test_reconciliation_ddl_is_what_the_reconciliation_writes(settings):
    assert declared_tables(settings)["reconciliation"] == RECONCILIATION_COLUMNS


def test_a_span_registers_each_tables_partitions_in_one_statement(settings):
    """embedded/build.py merges a span's rendered partition additions: one ALTER TABLE a table."""
    from embedded.build import at_once

    start = datetime(2026, 11, 20, tzinfo=UTC)
    rendered = [sql for h in range(3) for sql in split_statements(
        render_hql("add_hourly_partitions.hql", settings, data_interval_start=start.replace(hour=h)))]
    db = settings.hive_database
    specs = " ".join(f"PARTITION (dt='2026-11-20', hr={h})" for h in range(3))
    hourly = catalog.names(catalog.HOURLY)
    assert len(rendered) == 3 * (len(hourly) + 1)
    assert at_once(rendered) == [*(f"ALTER TABLE {db}.{t} ADD IF NOT EXISTS {specs}" for t in hourly),
                                 f"MSCK REPAIR TABLE {db}.sim_ledger"]
