"""The warehouse DDL (include/hql/create_tables.hql) on the real HiveServer2."""

from __future__ import annotations

import pytest

from clickstream.hive import execute, render_hql, split_statements
from tests.support.ddl import declared_tables

pytestmark = pytest.mark.integration


def test_ddl_runs_twice_on_hiveserver2(hiveserver2, settings):
    statements = split_statements(render_hql("create_tables.hql", settings))
    execute(settings, *statements, database=None)
    execute(settings, *statements, database=None)  # idempotent
    tables = {row[1] for row in execute(settings, f"SHOW TABLES IN {settings.hive_database}")}
    assert set(declared_tables(settings)) <= tables
    described = execute(settings, "DESCRIBE FORMATTED daily_summary")
    location = [r for r in described if r[0].strip() == "Location"]
    # Hadoop writes file:///x as file:/x
    assert location[0][1].strip() == settings.table_path("daily_summary").replace("file:///", "file:/")
