"""
### clickstream_daily

Sessions, funnels, paths and the daily breakdowns of every UTC day, then the
reports analysts read.

Each run covers its data interval — one UTC day (an explicit
`CronDataIntervalTimetable`: the run that starts after midnight processes the
day that just ended, and `data_interval_start` is that day). It:

1. waits for the day's hours: until the streaming application has archived
   every event up to the day's end plus the spill hour the job reads for
   sessions crossing midnight, plus 3 minutes (`wait_for_hours`). The daily job
   reads `raw_events`, not the hourly tables, so it waits for the raw hours
   themselves: a failed hourly run does not hold back the daily one;
2. creates any missing table (`include/hql/create_tables.hql`);
3. runs `include/spark_jobs/clickstream_daily.py` (SparkSubmitOperator on
   `spark_default`), which overwrites exactly the day's partition of
   `sessions`, `daily_pages`, `daily_sections`, `daily_paths`,
   `daily_funnels`, `daily_geo`, `daily_channels`, `daily_devices`,
   `daily_hours` and `daily_summary`;
4. registers the partitions (`add_daily_partitions.hql`, HiveOperator on
   `hive_cli_default`);
5. checks through HiveServer2 that counts reconcile with `raw_events`, keys
   are not null and the breakdowns sum to the totals; a failed check fails the
   run with the failed checks named;
6. fills the report tables with HiveQL (`report_*.hql`): page traffic and
   share, section engagement, session behaviour, error rates by hour, and
   one-sentence headlines.

The first run covers the day the platform first started (`make run`), from that
hour on, so daily results appear about an hour after the next midnight (UTC).
Catch-up and backfill work as for `clickstream_hourly`
(`airflow backfill create --dag-id clickstream_daily …`); a rerun produces
identical partitions. Params: `spill_hours`, `funnel_window_minutes`, `top_paths`.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.providers.apache.hive.operators.hive import HiveOperator
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.common.sql.operators.sql import SQLTableCheckOperator
from airflow.sdk import CronDataIntervalTimetable, Param, PokeReturnValue, chain, dag, task

from clickstream.batch.schedule import batch_epoch, table_asset
from clickstream.hive import hql_macros
from clickstream.notify import dag_defaults, run_deadline
from clickstream.settings import get_settings
from clickstream.spark_submit import spark_options

INCLUDE = Path(__file__).resolve().parent.parent / "include"
SETTINGS = get_settings()
EPOCH, CATCHUP = batch_epoch(SETTINGS)
# The day of the first start is processed too, partial as it is: its results appear after the next
# midnight instead of a day later.
START = EPOCH.start_of("day")
DAILY_TABLES = ("sessions", "daily_pages", "daily_sections", "daily_paths", "daily_funnels", "daily_geo",
                "daily_channels", "daily_devices", "daily_hours", "daily_summary")
REPORTS = ("report_page_traffic", "report_section_engagement", "report_sessions", "report_errors",
           "report_headlines")
DAY = "dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}'"


def _sum_of(column: str, table: str) -> str:
    return f"(SELECT COALESCE(SUM({column}), 0) FROM {{{{ clickstream_db }}}}.{table} WHERE {DAY})"


@dag(
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=START,
    catchup=CATCHUP,
    max_active_runs=1,
    tags=["clickstream", "batch", "lifecycle", "reporting"],
    template_searchpath=[str(INCLUDE / "hql")],
    user_defined_macros=hql_macros(SETTINGS),
    deadline=run_deadline(pendulum.duration(hours=4)),
    default_args=dag_defaults(pendulum.duration(minutes=5)),
    params={
        "spill_hours": Param(1, type="integer", minimum=0, maximum=12),
        "funnel_window_minutes": Param(60, type="integer", minimum=1),
        "top_paths": Param(10, type="integer", minimum=1),
    },
    doc_md=__doc__,
)
def clickstream_daily():
    @task.sensor(poke_interval=120, timeout=6 * 3600, mode="reschedule")
    def wait_for_hours(data_interval_end=None, params: dict | None = None) -> PokeReturnValue:
        """Wait until the streaming application has archived every hour the daily job reads."""
        from clickstream.batch.schedule import poke_stream

        spill = pendulum.duration(hours=int(params["spill_hours"]))
        done, why = poke_stream(data_interval_end, spill, SETTINGS.hive_database)
        print(why)
        return PokeReturnValue(is_done=done, xcom_value=why)

    create_tables = HiveOperator(task_id="create_tables", hql="create_tables.hql",
                                 hive_cli_conn_id="hive_cli_default")
    daily_job = SparkSubmitOperator(
        task_id="daily_job",
        application=str(INCLUDE / "spark_jobs" / "clickstream_daily.py"),
        conn_id="spark_default",
        name="clickstream-daily-{{ data_interval_start.strftime('%Y%m%d') }}",
        driver_memory="2g",
        **spark_options(SETTINGS),
        application_args=[
            "--day", "{{ data_interval_start.strftime('%Y-%m-%d') }}",
            "--spill-hours", "{{ params.spill_hours }}",
            "--funnel-window-minutes", "{{ params.funnel_window_minutes }}",
            "--top-paths", "{{ params.top_paths }}",
        ],
        outlets=[table_asset(SETTINGS, t) for t in DAILY_TABLES],
    )
    register = HiveOperator(task_id="register_partitions", hql="add_daily_partitions.hql",
                            hive_cli_conn_id="hive_cli_default")
    check = SQLTableCheckOperator(
        task_id="check_daily",
        conn_id="hiveserver2_default",
        table="{{ clickstream_db }}.daily_summary",
        partition_clause=DAY,
        checks={
            "events_reconcile_with_raw": {"check_statement": (
                "COALESCE(SUM(events), 0) = (SELECT COUNT(*) FROM {{ clickstream_db }}.raw_events WHERE "
                + DAY + ")")},
            "no_null_keys": {"check_statement": (
                "COUNT(*) = COUNT(app_id) AND (SELECT COUNT(*) FROM {{ clickstream_db }}.sessions WHERE "
                + DAY + " AND (app_id IS NULL OR session_id IS NULL OR user_id IS NULL)) = 0")},
            "sessions_sum": {"check_statement": (
                "COALESCE(SUM(sessions), 0) = (SELECT COUNT(*) FROM {{ clickstream_db }}.sessions WHERE "
                + DAY + ")")},
            "channels_sum_to_sessions": {"check_statement": (
                _sum_of("sessions", "daily_channels") + " = COALESCE(SUM(sessions), 0)")},
            "pages_sum_to_page_views": {"check_statement": (
                _sum_of("page_views", "daily_pages") + " = COALESCE(SUM(page_views), 0)")},
            "hours_sum_to_events": {"check_statement": (
                _sum_of("events", "daily_hours") + " = COALESCE(SUM(events), 0)")},
            "geo_sums_to_events": {"check_statement": (
                _sum_of("events", "daily_geo") + " = COALESCE(SUM(events), 0)")},
        },
    )
    reports = [
        HiveOperator(task_id=report, hql=f"{report}.hql", hive_cli_conn_id="hive_cli_default",
                     outlets=[table_asset(SETTINGS, report)])
        for report in REPORTS
    ]
    chain(wait_for_hours(), create_tables, daily_job, register, check, reports)


clickstream_daily()
