"""Production's HiveServer2 runs here: docker-compose.yml's own command and docker/config/hive/hive-site.xml,
with its metastore in PostgreSQL (the test run's server), runs the DAGs' HQL and keeps its schema.

Only what Docker would change is changed (tests/support/production_hive.py). No Docker here.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from clickstream import catalog
from clickstream.hive import execute, render_hql, split_statements, wait_until_answering
from clickstream.settings import REPO_ROOT, settings_env
from embedded.ports import free_ports
from tests.support.production_hive import create_metastore_db, metastore_rows, start, stop

DAY = datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def metastore_db(stack, settings):
    """An empty metastore database and its owner, as docker-compose.yml's metastore-db starts."""
    return create_metastore_db(stack, settings)


@pytest.mark.timeout(300)  # a metastore lock waits forever: fail instead
def test_production_hiveserver2_runs_the_dags_hql_on_a_postgresql_metastore(settings, metastore_db, tmp_path):
    (hive_port,) = free_ports(1)
    warehouse = (tmp_path / "warehouse").as_uri()
    local = dataclasses.replace(settings, hive_port=hive_port, warehouse_uri=warehouse)
    # Exactly this test's settings: a session fixture elsewhere may have named another database in os.environ.
    env = {**os.environ, **settings_env(local)}
    process = start(settings, tmp_path, metastore_db, hive_port)
    try:
        wait_until_answering(local, 180)
        # hive-init's command creates the platform's database.
        subprocess.run([sys.executable, "-m", "clickstream.hive", "create-database"], env=env, check=True,
                       capture_output=True, timeout=120)
        # The DAGs' HQL: every table, a day's partitions, every report (aggregates over the tables).
        statements = split_statements(render_hql("create_tables.hql", local))
        for name in ("add_daily_partitions.hql", "add_hourly_partitions.hql",
                     *sorted(p.name for p in (REPO_ROOT / "include" / "hql").glob("report_*.hql"))):
            statements += split_statements(render_hql(name, local, data_interval_start=DAY))
        execute(local, *statements)
        # A table created by an older release gains the catalog's new columns (the DAGs' add_missing_columns).
        db, sections = local.hive_database, catalog.table("daily_sections")
        older = tuple(c for c in sections.columns if c[0] not in ("section_leaves", "time_in_view_avg_ms"))
        execute(local, f"DROP TABLE {db}.daily_sections", catalog.create_table_sql(local, sections, older),
                f"INSERT INTO {db}.daily_sections PARTITION (dt = '2026-10-01') "
                "VALUES ('shop', '/', 'hero', 4, 1, 1, 1, 0, 1, 2, 1)")
        before = [row[0] for row in execute(local, catalog.show_columns_sql(db, sections))]
        execute(local, catalog.add_columns_sql(db, sections, before))
        after = [row[0].strip() for row in execute(local, catalog.show_columns_sql(db, sections))]
        # The day rerun after the upgrade: its partition, registered before, shows the new columns. (The
        # values in the table's order: the added columns last.)
        execute(local, f"INSERT OVERWRITE TABLE {db}.daily_sections PARTITION (dt = '2026-10-01') "
                       "SELECT 'shop', '/', 'hero', 4, 1, 1, 1, 0, 1, 2, 1, 3, 4500.0")
        rerun = execute(local, f"SELECT interactions, section_leaves, time_in_view_avg_ms, rank_in_app "
                               f"FROM {db}.daily_sections WHERE dt = '2026-10-01'")
    finally:
        stop(process)
    assert "time_in_view_avg_ms" not in before
    assert {name for name, _ in sections.columns} <= set(after)
    assert catalog.add_columns_sql(db, sections, after) is None
    assert rerun == [(4, 3, 4500.0, 1)]

    # The metastore is in PostgreSQL: the tables the catalog declares, the day's partitions.
    declared = set(catalog.names(catalog.HOURLY)) | set(catalog.names(catalog.DAILY))
    tables = {name for (name,) in metastore_rows(settings, metastore_db, 'SELECT "TBL_NAME" FROM "TBLS"')}
    assert declared <= tables, declared - tables
    partitions = metastore_rows(settings, metastore_db, 'SELECT t."TBL_NAME", p."PART_NAME" '
                                'FROM "PARTITIONS" p JOIN "TBLS" t USING ("TBL_ID")')
    assert ("daily_summary", "dt=2026-11-20") in partitions
    assert ("hourly_pages", "dt=2026-11-20/hr=10") in partitions

    # A restart keeps the schema and its contents (created once, not again).
    process = start(settings, tmp_path, metastore_db, hive_port)
    try:
        wait_until_answering(local, 180)
        shown = {row[1] for row in execute(local, f"SHOW TABLES IN {local.hive_database}")}
        days = execute(local, f"SHOW PARTITIONS {local.hive_database}.daily_summary")
    finally:
        stop(process)
    assert shown == tables
    assert days == [("dt=2026-11-20",)]
