"""
### clickstream_retention

Retention and privacy of the warehouse (`clickstream/retention.py`).

Every night at 02:30 UTC, `purge_raw` drops the partitions of `raw_events` and
`bad_events` older than `raw_retention_days` days (param; default
`CLICKSTREAM_RAW_RETENTION_DAYS`, 30) and deletes their files. The hourly and
daily aggregates, the reports and the live tables are kept.

**Forget a user** (a data-subject request): trigger with
`{"forget_user_id": "u_0123456789abcdef"}`. `forget_user` rewrites every file of
`raw_events`, `sessions` and `bad_events` that holds the user's rows, without
them, and reports how many rows it removed from each table. Run it again after
the next daily run if the user was active today: today's raw events are still
being written. IPs are truncated by the collector before anything is stored
(IPv4 to its /24, IPv6 to its /48), so no table holds a full one.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from clickstream.notify import dag_defaults, run_deadline
from clickstream.settings import get_settings

SETTINGS = get_settings()


@dag(
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["clickstream", "lifecycle", "privacy"],
    deadline=run_deadline(pendulum.duration(hours=2)),
    default_args=dag_defaults(pendulum.duration(minutes=5)),
    params={
        "raw_retention_days": Param(SETTINGS.raw_retention_days, type="integer", minimum=1,
                                    description="days of raw_events and bad_events to keep"),
        "forget_user_id": Param(None, type=["null", "string"], pattern="^u_[0-9a-f]{16}$",
                                description="a user_id to remove from the raw and sessions tables"),
    },
    doc_md=__doc__,
)
def clickstream_retention():
    @task
    def purge_raw(params: dict | None = None, data_interval_end=None) -> dict:
        """Drop and delete the raw partitions older than the retention; return the days purged per table."""
        from airflow.providers.apache.hive.hooks.hive import HiveServer2Hook

        from clickstream.retention import (
            RAW_TABLES,
            cutoff_day,
            delete_days,
            drop_partitions_sql,
            partitions_before,
        )

        hive = HiveServer2Hook(hiveserver2_conn_id="hiveserver2_default")
        database = SETTINGS.hive_database
        cutoff = cutoff_day(data_interval_end.date(), int(params["raw_retention_days"]))
        existing = {row[1] for row in hive.get_records(f"SHOW TABLES IN {database}")}
        purged = {}
        for table in [t for t in RAW_TABLES if t in existing]:  # the streaming job creates them
            specs = partitions_before(hive.get_records(f"SHOW PARTITIONS {database}.{table}"), cutoff)
            if specs:
                hive.run(drop_partitions_sql(database, table, specs))
            days = {s["dt"] for s in specs}
            deleted = delete_days(SETTINGS.table_path(table), days)
            print(f"{table}: dropped {len(specs)} partitions of {len(days)} days before {cutoff}, "
                  f"deleted {deleted} directories")
            purged[table] = sorted(days)
        return purged

    @task
    def forget_user(params: dict | None = None) -> dict:
        """Remove one user's rows from the raw and sessions tables; return the rows removed per table."""
        from airflow.providers.apache.hive.hooks.hive import HiveServer2Hook
        from airflow.sdk.exceptions import AirflowSkipException

        from clickstream.retention import USER_COLUMNS, forget

        user_id = params.get("forget_user_id")
        if not user_id:
            raise AirflowSkipException("no forget_user_id given")
        removed = {}
        for where in USER_COLUMNS:
            files, rows = forget(SETTINGS.table_path(where.table), where, user_id)
            print(f"{where.table}: removed {rows} rows of {user_id} from {files} files")
            removed[where.table] = rows
        # HiveServer2 caches file listings and sizes: make it see the rewritten files.
        hive = HiveServer2Hook(hiveserver2_conn_id="hiveserver2_default")
        existing = {row[1] for row in hive.get_records(f"SHOW TABLES IN {SETTINGS.hive_database}")}
        hive.run([f"REFRESH TABLE {SETTINGS.hive_database}.{w.table}" for w in USER_COLUMNS
                  if w.table in existing])
        return removed

    purge_raw() >> forget_user()


clickstream_retention()
