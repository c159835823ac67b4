"""Stand-in for the streaming DAG: one long task that heartbeats for minutes."""

import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     tags=["bench"], default_args={"owner": "bench", "retries": 2}, doc_md=__doc__)
def metadb_stress_stream():
    @task
    def run_stream(seconds: int = 150):
        import time

        time.sleep(seconds)

    run_stream()


metadb_stress_stream()
