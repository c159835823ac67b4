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
from airflow.sdk import dag, task

from clickstream.notify import dag_defaults, run_deadline


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
    @task
    def check_progress(params: dict | None = None) -> dict:
        """Fail with the stalled queries named, or return each query's last progress time."""
        from datetime import UTC, datetime, timedelta

        from airflow.providers.apache.hive.hooks.hive import HiveServer2Hook

        from clickstream.streaming.health import progress_sql, stalls

        hook = HiveServer2Hook(hiveserver2_conn_id="hiveserver2_default")
        stall_after = timedelta(minutes=float(params["stall_after_minutes"]))
        # A health check judges the present, not the run's logical date.
        now = datetime.now(UTC).replace(tzinfo=None)
        database = hook.get_connection(hook.hiveserver2_conn_id).schema or "clickstream"
        rows = hook.get_records(progress_sql(database, now - 2 * stall_after))
        problems = stalls(rows, now, stall_after)
        if problems:
            raise RuntimeError("streaming application unhealthy: " + "; ".join(problems))
        return {query: ts for query, ts, *_ in rows}

    check_progress()


clickstream_streaming_health()
