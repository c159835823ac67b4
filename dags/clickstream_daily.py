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
2. creates any missing table (`include/hql/create_tables.hql`) and adds to an existing table the
   columns a newer release gave it (`add_missing_columns`);
3. runs `include/spark_jobs/clickstream_daily.py` (SparkSubmitOperator, bounded in YARN's queue, on
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
from airflow.sdk import CronDataIntervalTimetable, Param, chain, dag

from clickstream import catalog
from clickstream.hive import hql_macros
from clickstream.settings import get_settings
from clickstream_airflow.checks import table_check
from clickstream_airflow.notifiers import dag_defaults, run_deadline
from clickstream_airflow.operators import AddMissingColumnsOperator, hive_reports
from clickstream_airflow.schedule import batch_epoch, table_assets
from clickstream_airflow.sensors import StreamArchivedSensor
from clickstream_airflow.spark import BoundedSparkSubmitOperator, spark_options

INCLUDE = Path(__file__).resolve().parent.parent / "include"
SETTINGS = get_settings()
EPOCH, CATCHUP = batch_epoch(SETTINGS)
# The day of the first start is processed too, partial as it is: its results appear after the next
# midnight instead of a day later.
START = EPOCH.start_of("day")


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
    # The day plus the spill hours the job reads for sessions crossing midnight.
    wait_for_hours = StreamArchivedSensor(task_id="wait_for_hours", database=SETTINGS.hive_database,
                                          margin_hours="{{ params.spill_hours }}",
                                          poke_interval=120, timeout=6 * 3600, mode="reschedule")

    create_tables = HiveOperator(task_id="create_tables", hql="create_tables.hql",
                                 hive_cli_conn_id="hive_cli_default")
    add_columns = AddMissingColumnsOperator(task_id="add_missing_columns", database=SETTINGS.hive_database,
                                            tables=catalog.names(catalog.DAILY, catalog.REPORT))
    daily_job = BoundedSparkSubmitOperator(
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
        outlets=table_assets(SETTINGS, catalog.names(catalog.DAILY)),
    )
    register = HiveOperator(task_id="register_partitions", hql="add_daily_partitions.hql",
                            hive_cli_conn_id="hive_cli_default")
    check = table_check("check_daily", INCLUDE / "hql" / "checks" / "daily.sql")
    reports = hive_reports(SETTINGS, catalog.names(catalog.REPORT))
    chain(wait_for_hours, create_tables, add_columns, daily_job, register, check, reports)


clickstream_daily()
