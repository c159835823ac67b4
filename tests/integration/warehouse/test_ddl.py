"""The warehouse DDL (include/hql/create_tables.hql) on the real HiveServer2."""

from __future__ import annotations

from clickstream import catalog
from clickstream.catalog import create_table_sql
from clickstream.hive import execute, render_hql, split_statements
from tests.support.ddl import declared_tables


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


def test_a_table_of_an_older_release_gains_the_new_columns(hiveserver2, settings, tmp_path):
    """daily_sections as a release without the section-leave beacons created it, with a day written then:
    the DAGs' add_missing_columns task adds the two columns, the old day reads them as NULL, a new day
    has them, and a second run adds nothing."""
    from clickstream_airflow.operators import AddMissingColumnsOperator

    sections = catalog.table("daily_sections")
    old = tuple(c for c in sections.columns if c[0] not in ("section_leaves", "time_in_view_avg_ms"))
    assert len(old) == len(sections.columns) - 2
    db = "upgrade_e2e"
    here = settings.replace(hive_database=db, warehouse_uri=tmp_path.as_uri())
    execute(here, f"DROP DATABASE IF EXISTS {db} CASCADE", f"CREATE DATABASE {db}", database=None)
    execute(here, create_table_sql(here, sections, old),
            "INSERT INTO daily_sections PARTITION (dt = '2026-10-01') "
            "VALUES ('shop', '/', 'hero', 4, 1, 1, 1, 0, 1, 2, 1)")

    upgrade = AddMissingColumnsOperator(task_id="add_missing_columns", database=db,
                                        tables=catalog.names(catalog.DAILY, catalog.REPORT))
    assert upgrade.execute({}) == {"daily_sections": ["section_leaves", "time_in_view_avg_ms"]}
    execute(here, "INSERT INTO daily_sections PARTITION (dt = '2026-10-02') "
                  "(app_id, page, section, interactions, section_views, section_clicks, section_scrolls, "
                  "section_hovers, button_clicks, unique_users, rank_in_app, section_leaves, "
                  "time_in_view_avg_ms) VALUES ('shop', '/', 'hero', 5, 2, 1, 1, 0, 1, 2, 1, 3, 4500.0)")
    rows = execute(here, "SELECT dt, interactions, section_leaves, time_in_view_avg_ms FROM daily_sections "
                         "ORDER BY dt")
    assert rows == [("2026-10-01", 4, None, None), ("2026-10-02", 5, 3, 4500.0)]
    assert upgrade.execute({}) == {}
