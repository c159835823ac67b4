"""Production's HiveServer2 runs here: docker-compose.yml's own command and docker/config/hive/hive-site.xml,
with its metastore in PostgreSQL (the test run's server) and its login, runs the DAGs' HQL and keeps its
schema; it lets in its user with the secret password, through the platform's client and Airflow's
connections as docker/generate-secrets.py writes them, and no one else.

Only what Docker would change is changed (tests/support/production_hive.py). No Docker here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clickstream import catalog
from clickstream.hive import PASSWORD_VAR as HIVE_PASSWORD_VAR
from clickstream.hive import execute, render_hql, split_statements, wait_until_answering
from clickstream.settings import REPO_ROOT, settings_env
from embedded.environment import VENV_BIN
from embedded.ports import free_ports
from tests.support.production_hive import create_metastore_db, metastore_rows, production_service, start, stop
from tests.support.production_secrets import write_production_secrets

DAY = datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def metastore_db(stack, settings):
    """An empty metastore database and its owner, as docker-compose.yml's metastore-db starts."""
    return create_metastore_db(stack, settings)


def _refused(settings) -> str:
    """Open a session; return the error's text (the test fails if the session opens)."""
    try:
        execute(settings, "SELECT 1", database=None)
    except Exception as exc:  # noqa: BLE001 - PyHive raises Thrift's transport errors
        return str(exc)
    raise AssertionError("HiveServer2 let the session in")


def _logins(local, secrets_dir: Path, tmp_path: Path, monkeypatch) -> dict:
    """Try every way in: wrong ones (the errors' texts) and Airflow's connections (what they return)."""
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    out = {"other user": _refused(local.replace(hive_user="admin")),
           "no login": _refused(local.replace(hive_user=""))}
    with monkeypatch.context() as m:
        m.setenv(f"{HIVE_PASSWORD_VAR}_FILE", str(wrong))
        out["wrong password"] = _refused(local)
    from airflow.providers.apache.hive.hooks.hive import HiveCliHook, HiveServer2Hook

    connections = json.loads((secrets_dir / "airflow_connections.json").read_text())
    for conn_id, conn in connections.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}",
                           json.dumps(conn | {"host": "127.0.0.1", "port": local.hive_port,
                                              "schema": local.hive_database}))
    monkeypatch.setenv("PATH", f"{VENV_BIN}:{os.environ['PATH']}")  # beeline, as the image has it
    out["hiveserver2_default"] = HiveServer2Hook(hiveserver2_conn_id="hiveserver2_default").get_records(
        "SELECT 1")
    out["hive_cli_default"] = HiveCliHook(hive_cli_conn_id="hive_cli_default").run_cli("SELECT 1;")
    return out


@pytest.mark.timeout(300)  # a metastore lock waits forever: fail instead
def test_production_hiveserver2_runs_the_dags_hql_on_a_postgresql_metastore(settings, metastore_db, tmp_path,
                                                                           monkeypatch):
    (hive_port,) = free_ports(1)
    warehouse = (tmp_path / "warehouse").as_uri()
    secrets_dir = write_production_secrets(tmp_path / "secrets")
    password_file = secrets_dir / "hive_password"
    user = production_service()["environment"]["CLICKSTREAM_HIVE_USER"]
    local = settings.replace(hive_port=hive_port, warehouse_uri=warehouse, hive_user=user)
    monkeypatch.setenv(f"{HIVE_PASSWORD_VAR}_FILE", str(password_file))
    # Exactly this test's settings: a session fixture elsewhere may have named another database in os.environ.
    env = {**os.environ, **settings_env(local)}
    process = start(settings, tmp_path, metastore_db, hive_port, hive_password_file=password_file)
    try:
        wait_until_answering(local, 180)
        # hive-init's command creates the platform's database.
        subprocess.run([sys.executable, "-m", "clickstream.hive", "create-database"], env=env, check=True,
                       capture_output=True, timeout=120)
        logins = _logins(local, secrets_dir, tmp_path, monkeypatch)
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
    # Only the user with the secret password gets in; Airflow's connections as generate-secrets.py writes them
    # log in (the HiveOperator's beeline, the sensors' and checks' HiveServer2Hook).
    for refused in ("wrong password", "other user", "no login"):
        assert "Error validating the login" in logins[refused], logins
    assert logins["hiveserver2_default"] == [(1,)]
    assert "1" in logins["hive_cli_default"].split()
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
    process = start(settings, tmp_path, metastore_db, hive_port, hive_password_file=password_file)
    try:
        wait_until_answering(local, 180)
        shown = {row[1] for row in execute(local, f"SHOW TABLES IN {local.hive_database}")}
        days = execute(local, f"SHOW PARTITIONS {local.hive_database}.daily_summary")
    finally:
        stop(process)
    assert shown == tables
    assert days == [("dt=2026-11-20",)]
