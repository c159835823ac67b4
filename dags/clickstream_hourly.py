"""
### clickstream_hourly

Per-page and per-section aggregates of every UTC hour of event time.

Each run covers its data interval — one hour, `[data_interval_start,
data_interval_end)` (an explicit `CronDataIntervalTimetable`, so the interval
*is* the hour processed; no "previous hour" arithmetic). It:

1. waits until the streaming application has archived the hour (`wait_for_stream`:
   its newest progress after the hour's end plus 3 minutes shows it is not behind);
2. creates any missing table (`include/hql/create_tables.hql`, HiveOperator) and adds to an existing
   table the columns a newer release gave it (`add_missing_columns`);
3. runs `include/spark_jobs/clickstream_hourly.py` (SparkSubmitOperator, bounded in YARN's queue, on
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
from airflow.sdk import CronDataIntervalTimetable, chain, dag

from clickstream import catalog
from clickstream.hive import hql_macros
from clickstream.settings import get_settings
from clickstream_airflow.checks import table_check
from clickstream_airflow.notifiers import dag_defaults, run_deadline
from clickstream_airflow.operators import AddMissingColumnsOperator
from clickstream_airflow.schedule import batch_epoch, table_assets
from clickstream_airflow.sensors import StreamArchivedSensor
from clickstream_airflow.spark import BoundedSparkSubmitOperator, spark_options

INCLUDE = Path(__file__).resolve().parent.parent / "include"
SETTINGS = get_settings()
START, CATCHUP = batch_epoch(SETTINGS)


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
    wait_for_stream = StreamArchivedSensor(task_id="wait_for_stream", database=SETTINGS.hive_database,
                                           poke_interval=60, timeout=3 * 3600, mode="reschedule")

    create_tables = HiveOperator(task_id="create_tables", hql="create_tables.hql",
                                 hive_cli_conn_id="hive_cli_default")
    # The ledger too: the reconciliation, which waits for this DAG, reads its newer columns.
    add_columns = AddMissingColumnsOperator(task_id="add_missing_columns", database=SETTINGS.hive_database,
                                            tables=catalog.names(catalog.HOURLY, catalog.LEDGER))
    hourly_job = BoundedSparkSubmitOperator(
        task_id="hourly_job",
        application=str(INCLUDE / "spark_jobs" / "clickstream_hourly.py"),
        conn_id="spark_default",
        name="clickstream-hourly-{{ data_interval_start.strftime('%Y%m%dT%H') }}",
        **spark_options(SETTINGS),
        application_args=["--start", "{{ data_interval_start.isoformat() }}",
                          "--end", "{{ data_interval_end.isoformat() }}"],
        outlets=table_assets(SETTINGS, catalog.names(catalog.HOURLY)),
    )
    register = HiveOperator(task_id="register_partitions", hql="add_hourly_partitions.hql",
                            hive_cli_conn_id="hive_cli_default")
    check = table_check("check_hourly", INCLUDE / "hql" / "checks" / "hourly.sql")
    chain(wait_for_stream, create_tables, add_columns, hourly_job, register, check)


clickstream_hourly()
