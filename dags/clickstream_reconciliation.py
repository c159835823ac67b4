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
from airflow.sdk import CronDataIntervalTimetable, dag, task

from clickstream.batch.schedule import batch_epoch
from clickstream.notify import dag_defaults, run_deadline
from clickstream.settings import get_settings

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

    @task
    def reconcile(data_interval_start=None) -> dict:
        """Compare the hour's counts from every source; write them; fail naming every mismatch."""
        from datetime import UTC, datetime

        from airflow.providers.apache.hive.hooks.hive import HiveServer2Hook
        from airflow.providers.apache.kafka.hooks.base import KafkaBaseHook
        from confluent_kafka import Consumer

        from clickstream.reconcile import dead_letters, hour_counts, insert_sql, result_rows

        hour = datetime.fromtimestamp(data_interval_start.timestamp(), UTC)
        database = SETTINGS.hive_database
        hive = HiveServer2Hook(hiveserver2_conn_id="hiveserver2_default")
        # The hour's run of clickstream_hourly registered the ledger's partitions (MSCK REPAIR);
        # HiveServer2 must still list the files as they are now, not as it cached them (the
        # simulators rewrite their ledger files, the stream adds files, forget-user rewrites them).
        hive.run([f"REFRESH TABLE {database}.{t}" for t in ("sim_ledger", "raw_events", "hourly_pages")])
        kafka = KafkaBaseHook.get_connection("kafka_default").extra_dejson
        consumer = Consumer(kafka | {"group.id": "clickstream-reconciliation", "enable.auto.commit": False,
                                     "enable.partition.eof": True})
        try:
            dlq = dead_letters(consumer, SETTINGS.topic_dlq, hour)
        finally:
            consumer.close()
        apps = hour_counts(hive.get_records, database, hour, dlq)
        hive.run(insert_sql(database, hour, result_rows(apps, datetime.now(UTC))))
        for a in apps:
            print(a)
        problems = [p for a in apps for p in a.problems()]
        if problems:
            raise RuntimeError(f"{hour:%Y-%m-%d %H}:00 UTC does not reconcile: " + "; ".join(problems))
        return {a.app_id: a.archived for a in apps}

    wait_for_hourly >> reconcile()


clickstream_reconciliation()
