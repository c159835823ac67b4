"""
### clickstream_streaming_health

Every five minutes, checks that the streaming application makes progress,
from its `clickstream.stream_progress` table (read through HiveServer2 on
`hiveserver2_default`). The run fails — and its failure notifiers send the
alert — when a query has reported nothing for five minutes (the application
is down or hung), or when the ingest query is behind the log end yet has read
nothing for five minutes. The failure message names each query and what is wrong.

To restart a stalled application, clear the running `run_streaming_app` task
of `clickstream_streaming`; pause this DAG together with that one.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag

from clickstream_airflow.notifiers import dag_defaults, run_deadline
from clickstream_airflow.operators import StreamHealthOperator


@dag(
    schedule="*/5 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["clickstream", "streaming", "lifecycle", "health"],
    deadline=run_deadline(pendulum.duration(minutes=10)),
    default_args=dag_defaults(pendulum.duration(minutes=1)),
    params={"stall_after_minutes": 5},
    doc_md=__doc__,
)
def clickstream_streaming_health():
    StreamHealthOperator(task_id="check_progress", stall_after_minutes="{{ params.stall_after_minutes }}")


clickstream_streaming_health()
