"""Operators of the platform's DAGs: what a task does beyond one provider operator.

Each wraps a library function of ``clickstream`` (the computation, unit-tested without Airflow)
with the provider hooks that reach the services: HiveServer2 through ``hiveserver2_default``,
Kafka through ``kafka_default``. The DAG files only wire them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException


def hive_reports(settings, reports, hive_cli_conn_id: str = "hive_cli_default") -> list:
    """Return one HiveOperator per report: it runs ``include/hql/<report>.hql``, the report table its outlet.

    The DAG's ``template_searchpath`` must hold include/hql.
    """
    from airflow.providers.apache.hive.operators.hive import HiveOperator

    from clickstream_airflow.schedule import table_asset

    return [HiveOperator(task_id=report, hql=f"{report}.hql", hive_cli_conn_id=hive_cli_conn_id,
                         outlets=[table_asset(settings, report)])
            for report in reports]


def _hive(conn_id: str):
    from airflow.providers.apache.hive.hooks.hive import HiveServer2Hook

    return HiveServer2Hook(hiveserver2_conn_id=conn_id)


def _existing_tables(hive, database: str) -> set[str]:
    return {row[1] for row in hive.get_records(f"SHOW TABLES IN {database}")}


class AddMissingColumnsOperator(BaseOperator):
    """Adds to existing tables the catalog's columns they lack; returns {table: [added columns]}.

    Runs after ``create_tables.hql``, whose ``CREATE … IF NOT EXISTS`` leaves a table created by an
    older release as it was (``clickstream.catalog.add_columns_sql``).
    """

    def __init__(self, *, database: str, tables: Sequence[str],
                 hiveserver2_conn_id: str = "hiveserver2_default", **kwargs):
        super().__init__(**kwargs)
        self.database = database
        self.tables = tuple(tables)
        self.hiveserver2_conn_id = hiveserver2_conn_id

    def execute(self, context) -> dict:
        from clickstream.catalog import add_columns_sql, show_columns_sql, table

        hive = _hive(self.hiveserver2_conn_id)

        def columns(t) -> list[str]:
            return [row[0].strip().lower() for row in hive.get_records(show_columns_sql(self.database, t))]

        existing = _existing_tables(hive, self.database)
        added = {}
        for t in (table(n) for n in self.tables if n in existing):
            before = columns(t)
            sql = add_columns_sql(self.database, t, before)
            if sql:
                self.log.info("%s", sql)
                hive.run(sql)
                added[t.name] = [c for c in columns(t) if c not in before]
        return added


class ReconcileHourOperator(BaseOperator):
    """Compares one hour's event counts from every source, writes them, and fails naming each mismatch.

    Sources: the simulators' ledger (generated, sent, accepted, rejected), the dead-letter topic,
    ``raw_events`` and ``hourly_pages`` (``clickstream.reconcile``). The row per site goes to
    ``reconciliation``; the return value is the archived count per site.
    """

    def __init__(self, *, database: str, dlq_topic: str, hiveserver2_conn_id: str = "hiveserver2_default",
                 kafka_config_id: str = "kafka_default", **kwargs):
        super().__init__(**kwargs)
        self.database = database
        self.dlq_topic = dlq_topic
        self.hiveserver2_conn_id = hiveserver2_conn_id
        self.kafka_config_id = kafka_config_id

    def execute(self, context) -> dict:
        from airflow.providers.apache.kafka.hooks.base import KafkaBaseHook
        from confluent_kafka import Consumer

        from clickstream.reconcile import dead_letters, hour_counts, insert_sql, result_rows

        hour = datetime.fromtimestamp(context["data_interval_start"].timestamp(), UTC)
        hive = _hive(self.hiveserver2_conn_id)
        # The hour's run of clickstream_hourly registered the ledger's partitions (MSCK REPAIR);
        # HiveServer2 must still list the files as they are now, not as it cached them (the
        # simulators rewrite their ledger files, the stream adds files, forget-user rewrites them).
        hive.run([f"REFRESH TABLE {self.database}.{t}" for t in ("sim_ledger", "raw_events", "hourly_pages")])
        kafka = KafkaBaseHook.get_connection(self.kafka_config_id).extra_dejson
        consumer = Consumer(kafka | {"group.id": "clickstream-reconciliation", "enable.auto.commit": False,
                                     "enable.partition.eof": True})
        try:
            dlq = dead_letters(consumer, self.dlq_topic, hour)
        finally:
            consumer.close()
        apps = hour_counts(hive.get_records, self.database, hour, dlq)
        hive.run(insert_sql(self.database, hour, result_rows(apps, datetime.now(UTC))))
        for app in apps:
            self.log.info("%s", app)
        problems = [p for a in apps for p in a.problems()]
        if problems:
            raise RuntimeError(f"{hour:%Y-%m-%d %H}:00 UTC does not reconcile: " + "; ".join(problems))
        return {a.app_id: a.archived for a in apps}


class PurgeRawOperator(BaseOperator):
    """Drops and deletes the raw tables' partitions older than the retention; returns the days per table.

    ``retention_days`` is templated (the DAG passes its param). The tables and their locations come
    from the platform's settings, like every task's.
    """

    template_fields: Sequence[str] = ("retention_days",)

    def __init__(self, *, retention_days: int | str, hiveserver2_conn_id: str = "hiveserver2_default",
                 **kwargs):
        super().__init__(**kwargs)
        self.retention_days = retention_days
        self.hiveserver2_conn_id = hiveserver2_conn_id

    def execute(self, context) -> dict:
        from clickstream.retention import (
            RAW_TABLES,
            cutoff_day,
            delete_days,
            drop_partitions_sql,
            partitions_before,
        )
        from clickstream.settings import get_settings

        settings = get_settings()
        hive = _hive(self.hiveserver2_conn_id)
        cutoff = cutoff_day(context["data_interval_end"].date(), int(self.retention_days))
        existing = _existing_tables(hive, settings.hive_database)
        purged = {}
        for table in RAW_TABLES:
            if table not in existing:  # the streaming job creates them
                continue
            specs = partitions_before(hive.get_records(f"SHOW PARTITIONS {settings.hive_database}.{table}"),
                                      cutoff)
            if specs:
                hive.run(drop_partitions_sql(settings.hive_database, table, specs))
            days = {s["dt"] for s in specs}
            deleted = delete_days(settings.table_path(table), days)
            self.log.info("%s: dropped %d partitions of %d days before %s, deleted %d directories",
                          table, len(specs), len(days), cutoff, deleted)
            purged[table] = sorted(days)
        return purged


class ForgetUserOperator(BaseOperator):
    """Removes one user's rows from the tables that hold user ids; skipped when no user is given."""

    template_fields: Sequence[str] = ("user_id",)

    def __init__(self, *, user_id: str | None, hiveserver2_conn_id: str = "hiveserver2_default", **kwargs):
        super().__init__(**kwargs)
        self.user_id = user_id
        self.hiveserver2_conn_id = hiveserver2_conn_id

    def execute(self, context) -> dict:
        from clickstream.retention import USER_COLUMNS, forget
        from clickstream.settings import get_settings

        if self.user_id in (None, "", "None"):  # a template renders an absent param as "None"
            raise AirflowSkipException("no forget_user_id given")
        settings = get_settings()
        removed = {}
        for where in USER_COLUMNS:
            files, rows = forget(settings.table_path(where.table), where, self.user_id)
            self.log.info("%s: removed %d rows of %s from %d files", where.table, rows, self.user_id, files)
            removed[where.table] = rows
        # HiveServer2 caches file listings and sizes: make it see the rewritten files.
        hive = _hive(self.hiveserver2_conn_id)
        existing = _existing_tables(hive, settings.hive_database)
        hive.run([f"REFRESH TABLE {settings.hive_database}.{w.table}" for w in USER_COLUMNS
                  if w.table in existing])
        return removed


class StreamHealthOperator(BaseOperator):
    """Fails naming the streaming queries that made no progress lately; returns each one's last progress.

    Reads ``stream_progress`` through HiveServer2 (``clickstream.streaming.health``) and the application's
    start from its control directory. A health check judges the present, not the run's logical date.
    An application starting (``make run``, a restart after a long stop, a retry) has not reported yet:
    the check polls for up to ``grace_minutes`` before it fails, so a start is never an alarm, and a
    stalled application is reported that much later.
    """

    template_fields: Sequence[str] = ("stall_after_minutes", "grace_minutes")

    def __init__(self, *, stall_after_minutes: float | str = 5, grace_minutes: float | str = 4,
                 poll_seconds: float = 15, hiveserver2_conn_id: str = "hiveserver2_default", **kwargs):
        super().__init__(**kwargs)
        self.stall_after_minutes = stall_after_minutes
        self.grace_minutes = grace_minutes
        self.poll_seconds = poll_seconds
        self.hiveserver2_conn_id = hiveserver2_conn_id

    def execute(self, context) -> dict:
        import time

        from clickstream.settings import get_settings
        from clickstream.streaming.health import progress_sql, stalls
        from clickstream.streaming.monitor import application

        hook = _hive(self.hiveserver2_conn_id)
        stall_after = timedelta(minutes=float(self.stall_after_minutes))
        database = hook.get_connection(self.hiveserver2_conn_id).schema or "clickstream"
        settings = get_settings()
        deadline = time.monotonic() + 60 * float(self.grace_minutes)
        while True:
            now = datetime.now(UTC).replace(tzinfo=None)
            record = application(settings) or {}
            started = datetime.fromisoformat(record["started"]) if record.get("started") else None
            rows = _progress_rows(hook, progress_sql(database, now - 2 * stall_after))
            problems = stalls(rows, now, stall_after, started=started)
            if not problems:
                return {query: ts for query, ts, *_ in rows}
            if time.monotonic() >= deadline:
                raise RuntimeError("streaming application unhealthy: " + "; ".join(problems))
            self.log.info("not healthy yet (%s); checking again in %.0f s", "; ".join(problems),
                          self.poll_seconds)
            time.sleep(self.poll_seconds)


def _progress_rows(hook, sql: str) -> list[tuple]:
    """Return the progress rows; none while the application has not created its table yet."""
    try:
        return hook.get_records(sql)
    except Exception as exc:
        if "TABLE_OR_VIEW_NOT_FOUND" in str(exc):
            return []
        raise
