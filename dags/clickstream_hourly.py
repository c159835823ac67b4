"""
### clickstream_hourly

Per-page and per-section aggregates of every UTC hour of event time.

Each run covers its data interval — one hour, `[data_interval_start,
data_interval_end)` (an explicit `CronDataIntervalTimetable`, so the interval
*is* the hour processed; no "previous hour" arithmetic). It:

1. waits until the streaming application has archived the hour (`wait_for_stream`:
   its newest progress after the hour's end plus 3 minutes shows it is not behind);
2. creates any missing table (`include/hql/create_tables.hql`, HiveOperator);
3. runs `include/spark_jobs/clickstream_hourly.py` (SparkSubmitOperator on
   `spark_default`), which overwrites exactly the hour's partition of
   `hourly_pages` and `hourly_sections`;
4. registers the partitions (`add_hourly_partitions.hql`);
5. checks the result through HiveServer2: counts reconcile with `raw_events`,
   no null keys, section sums fit page sums. A failed check fails the run.

Runs catch up from the platform's batch epoch (`CLICKSTREAM_BATCH_START`,
written at the first `make run`); older hours are backfilled with
`airflow backfill create --dag-id clickstream_hourly --from-date … --to-date …`.
Reruns overwrite the same partition with the same content.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.providers.apache.hive.operators.hive import HiveOperator
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.common.sql.operators.sql import SQLTableCheckOperator
from airflow.sdk import CronDataIntervalTimetable, PokeReturnValue, chain, dag, task

from clickstream.batch.schedule import batch_epoch, table_asset
from clickstream.hive import hql_macros
from clickstream.notify import dag_defaults, run_deadline
from clickstream.settings import get_settings
from clickstream.spark_submit import spark_options

INCLUDE = Path(__file__).resolve().parent.parent / "include"
SETTINGS = get_settings()
START, CATCHUP = batch_epoch(SETTINGS)
HOUR = "dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}' AND hr = {{ data_interval_start.hour }}"


@dag(
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=START,
    catchup=CATCHUP,
    max_active_runs=2,
    tags=["clickstream", "batch", "lifecycle"],
    template_searchpath=[str(INCLUDE / "hql")],
    user_defined_macros=hql_macros(SETTINGS),
    deadline=run_deadline(pendulum.duration(minutes=90)),
    default_args=dag_defaults(pendulum.duration(minutes=2)),
    doc_md=__doc__,
)
def clickstream_hourly():
    @task.sensor(poke_interval=60, timeout=3 * 3600, mode="reschedule")
    def wait_for_stream(data_interval_end=None) -> PokeReturnValue:
        """Wait until the streaming application has archived every event of the hour."""
        from clickstream.batch.schedule import poke_stream

        done, why = poke_stream(data_interval_end, pendulum.duration(0), SETTINGS.hive_database)
        print(why)
        return PokeReturnValue(is_done=done, xcom_value=why)

    create_tables = HiveOperator(task_id="create_tables", hql="create_tables.hql",
                                 hive_cli_conn_id="hive_cli_default")
    hourly_job = SparkSubmitOperator(
        task_id="hourly_job",
        application=str(INCLUDE / "spark_jobs" / "clickstream_hourly.py"),
        conn_id="spark_default",
        name="clickstream-hourly-{{ data_interval_start.strftime('%Y%m%dT%H') }}",
        **spark_options(SETTINGS),
        application_args=["--start", "{{ data_interval_start.isoformat() }}",
                          "--end", "{{ data_interval_end.isoformat() }}"],
        outlets=[table_asset(SETTINGS, t)
                 for t in ("hourly_pages", "hourly_sections")],
    )
    register = HiveOperator(task_id="register_partitions", hql="add_hourly_partitions.hql",
                            hive_cli_conn_id="hive_cli_default")
    check = SQLTableCheckOperator(
        task_id="check_hourly",
        conn_id="hiveserver2_default",
        table="{{ clickstream_db }}.hourly_pages",
        partition_clause=HOUR,
        checks={
            "events_reconcile_with_raw": {"check_statement": (
                "COALESCE(SUM(events), 0) = (SELECT COUNT(*) FROM {{ clickstream_db }}.raw_events WHERE "
                + HOUR + ")")},
            "no_null_keys": {"check_statement": "COUNT(*) = COUNT(app_id) AND COUNT(*) = COUNT(page)"},
            "page_views_and_errors_fit_events": {"check_statement": (
                "COALESCE(SUM(CASE WHEN page_views > events OR errors > page_views THEN 1 ELSE 0 END), 0)"
                " = 0")},
            "section_sums_fit_page_sums": {"check_statement": (
                "(SELECT COALESCE(SUM(interactions), 0) FROM {{ clickstream_db }}.hourly_sections WHERE "
                + HOUR + ") <= COALESCE(SUM(section_interactions), 0)")},
        },
    )
    chain(wait_for_stream(), create_tables, hourly_job, register, check)


clickstream_hourly()
