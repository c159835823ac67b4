"""
### clickstream_reconciliation

Proves, every UTC hour of event time, that no event was lost or counted twice
between the simulated users and the hourly aggregates. Per app it compares:

| count | source |
|---|---|
| generated, sent | the simulators' ledger (`sim_ledger`) |
| accepted, rejected (per reason) | the ledger: what the collector's producer had acknowledged |
| dead_lettered (per reason) | the dead-letter topic itself (Kafka provider connection `kafka_default`) |
| archived | `raw_events` |
| aggregated | `hourly_pages` (sum of `events`) |

It waits for the same hour's `clickstream_hourly` run to pass its checks
(`wait_for_hourly`), then `reconcile` writes one row per app to the hour's
partition of `reconciliation` (shown on the dashboard's pipeline page) and
fails when any count disagrees, naming both numbers, for example
`shop: the collector accepted 5120 events but raw_events holds 5119 (-1)`.
The failure retries twice (late records are counted on retry) and then alerts.

Backfill together with `clickstream_hourly`:
`airflow backfill create --dag-id clickstream_reconciliation --from-date … --to-date …`.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk import CronDataIntervalTimetable, dag

from clickstream.settings import get_settings
from clickstream_airflow.notifiers import dag_defaults, run_deadline
from clickstream_airflow.operators import ReconcileHourOperator
from clickstream_airflow.schedule import batch_epoch

SETTINGS = get_settings()
START, CATCHUP = batch_epoch(SETTINGS)


@dag(
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=START,
    catchup=CATCHUP,
    max_active_runs=2,
    tags=["clickstream", "batch", "lifecycle", "quality"],
    deadline=run_deadline(pendulum.duration(hours=3)),
    default_args=dag_defaults(pendulum.duration(minutes=5)),
    doc_md=__doc__,
)
def clickstream_reconciliation():
    wait_for_hourly = ExternalTaskSensor(
        task_id="wait_for_hourly",
        external_dag_id="clickstream_hourly",
        external_task_id="check_hourly",
        mode="reschedule",
        poke_interval=120,
        timeout=6 * 3600,
    )

    reconcile = ReconcileHourOperator(task_id="reconcile", database=SETTINGS.hive_database,
                                      dlq_topic=SETTINGS.topic_dlq)

    wait_for_hourly >> reconcile


clickstream_reconciliation()
