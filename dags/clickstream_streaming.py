"""
### clickstream_streaming

Keeps the streaming application alive. A continuous schedule with one active
run: its single task submits `include/spark_jobs/clickstream_streaming.py`
through `SparkSubmitOperator` on the `spark_default` connection (local[*]
embedded, YARN in production) and runs as long as the application does. When
the application dies, the task is retried with exponential backoff; when the
task ends for good, the next continuous run starts it again.

The application archives every valid event exactly once into
`clickstream.raw_events` (dt/hr of event time) and rejected records into
`clickstream.bad_events`, and keeps the live tables current, all from one
read of the topic: `live_metrics_parts` (view `live_metrics_latest`),
`live_active_users_parts` (view `live_active_users_latest`), `live_paths`,
`live_alerts` (also on the alerts topic) and `stream_progress`, which
`clickstream_streaming_health` watches; see docs/streaming.md. A task that
fails after its retries sends an email (`smtp_default`) and an alerts-topic
message.

Params: `mode=available-now` processes what the topic holds now and stops
(catch-up, tests); `max_offsets_per_trigger` caps a micro-batch;
`fail_on_data_loss=false` accepts a loss the application reported (offsets
gone from Kafka) and carries on from what the topic holds.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import Param, dag

from clickstream.settings import get_settings
from clickstream_airflow.notifiers import dag_defaults
from clickstream_airflow.spark import BoundedSparkSubmitOperator, spark_options

SETTINGS = get_settings()
# dags/ and include/ are siblings in both runtimes (repo checkout, Airflow image).
APPLICATION = str(Path(__file__).resolve().parent.parent / "include" / "spark_jobs"
                  / "clickstream_streaming.py")


@dag(
    schedule="@continuous",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["clickstream", "streaming", "lifecycle"],
    default_args=dag_defaults(pendulum.duration(seconds=20), retries=5, retry_exponential_backoff=True,
                              max_retry_delay=pendulum.duration(minutes=10)),
    params={
        "mode": Param("continuous", enum=["continuous", "available-now"]),
        "max_offsets_per_trigger": Param(200_000, type="integer", minimum=1),
        # false only to accept a loss the application reported (docs/streaming.md, "Offsets gone").
        "fail_on_data_loss": Param(True, type="boolean"),
    },
    doc_md=__doc__,
)
def clickstream_streaming():
    BoundedSparkSubmitOperator(
        task_id="run_streaming_app",
        application=APPLICATION,
        conn_id="spark_default",
        name="clickstream-streaming",
        driver_memory="1g",
        **spark_options(SETTINGS),
        application_args=[
            "--mode", "{{ params.mode }}",
            "--max-offsets-per-trigger", "{{ params.max_offsets_per_trigger }}",
            "--{{ '' if params.fail_on_data_loss else 'no-' }}fail-on-data-loss",
        ],
    )


clickstream_streaming()
