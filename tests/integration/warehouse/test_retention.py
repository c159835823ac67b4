"""The retention DAG (dag.test) on a copy of the built day: purge old raw partitions, forget a user.

The built day's raw_events and sessions (tests/warehouse/batch_day.py) are copied into a private
database twice: as the old day 2026-11-02 and as 2026-11-08, eight days later.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clickstream.hive import execute, render_hql, split_statements
from clickstream.settings import get_settings
from clickstream.streaming.hive import HivePartitions
from tests.support.batch_day import DAY, run_dag, states

OLD, NEW = DAY.isoformat(), "2026-11-08"
RUN = datetime(2026, 11, 10, 2, 30, tzinfo=UTC)


def local(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


def count(settings, sql: str) -> int:
    return execute(settings, sql)[0][0]


@pytest.fixture(scope="module")
def copied(built_day, tmp_path_factory):
    """A private database holding the built day's raw_events and sessions on two days."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CLICKSTREAM_HIVE_DATABASE", "retention_e2e")
        env.setenv("CLICKSTREAM_WAREHOUSE_URI", tmp_path_factory.mktemp("retention").as_uri())
        get_settings.cache_clear()
        settings = get_settings()
        for table in ("raw_events", "sessions"):
            for day in (OLD, NEW):
                shutil.copytree(local(built_day.table_path(table)) / f"dt={OLD}",
                                local(settings.table_path(table)) / f"dt={day}")
        execute(settings, f"CREATE DATABASE IF NOT EXISTS {settings.hive_database}", database=None)
        HivePartitions(settings).ensure_tables()
        execute(settings, *split_statements(render_hql("create_tables.hql", settings)),
                "MSCK REPAIR TABLE raw_events", "MSCK REPAIR TABLE sessions")
        yield settings
    get_settings.cache_clear()


def test_raw_partitions_older_than_the_retention_are_dropped_and_deleted(copied):
    new_raw = count(copied, f"SELECT COUNT(*) FROM raw_events WHERE dt = '{NEW}'")
    sessions = count(copied, "SELECT COUNT(*) FROM sessions")
    hours = {p for (p,) in execute(copied, "SHOW PARTITIONS raw_events")}
    run = run_dag("clickstream_retention", RUN, retries=0, run_conf={"raw_retention_days": 5})
    assert states(run) == {"purge_raw": "success", "forget_user": "skipped"}
    assert {p for (p,) in execute(copied, "SHOW PARTITIONS raw_events")} == {
        p for p in hours if p.startswith(f"dt={NEW}/")}
    assert not (local(copied.table_path("raw_events")) / f"dt={OLD}").exists()
    execute(copied, "REFRESH TABLE raw_events")
    assert count(copied, "SELECT COUNT(*) FROM raw_events") == new_raw > 0
    assert count(copied, "SELECT COUNT(*) FROM sessions") == sessions > 0  # aggregates are kept


def test_forgetting_a_user_removes_exactly_their_rows(copied):
    user, theirs = execute(copied, "SELECT user_id, COUNT(*) AS n FROM raw_events GROUP BY user_id "
                                   "ORDER BY n DESC, user_id LIMIT 1")[0]
    raw, sessions = (count(copied, f"SELECT COUNT(*) FROM {t}") for t in ("raw_events", "sessions"))
    their_sessions = count(copied, f"SELECT COUNT(*) FROM sessions WHERE user_id = '{user}'")
    assert their_sessions > 0
    run = run_dag("clickstream_retention", RUN, retries=0,
                  run_conf={"raw_retention_days": 3650, "forget_user_id": user})
    assert states(run) == {"purge_raw": "success", "forget_user": "success"}
    assert count(copied, f"SELECT COUNT(*) FROM raw_events WHERE user_id = '{user}'") == 0
    assert count(copied, f"SELECT COUNT(*) FROM sessions WHERE user_id = '{user}'") == 0
    assert count(copied, "SELECT COUNT(*) FROM raw_events") == raw - theirs
    assert count(copied, "SELECT COUNT(*) FROM sessions") == sessions - their_sessions
    # No table holds a full IP: IPv4 kept to its /24, IPv6 to its /48.
    assert count(copied, "SELECT COUNT(*) FROM raw_events WHERE NOT (ip LIKE '%.0' OR ip LIKE '%::')") == 0


def test_a_forget_request_must_name_a_user_id():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.exceptions import ParamValidationError

    from clickstream.settings import REPO_ROOT

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "clickstream_retention.py"))
    param = bag.dags["clickstream_retention"].params.get_param("forget_user_id")
    assert param.resolve("u_0123456789abcdef") == "u_0123456789abcdef"
    for bad in ("u_1' OR '1'='1", "alice", ""):
        with pytest.raises(ParamValidationError):
            param.resolve(bad)
