"""Stand-in for the hourly jobs catching up: 24 runs of 6 short tasks, up to 8 runs at once."""

import pendulum
from airflow.sdk import dag, task


@dag(schedule="@hourly", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
     end_date=pendulum.datetime(2026, 1, 1, 23, tz="UTC"), catchup=True, max_active_runs=8,
     tags=["bench"], default_args={"owner": "bench", "retries": 2}, doc_md=__doc__)
def metadb_stress_hourly():
    @task
    def step(i: int):
        import time

        time.sleep(1)
        return i

    for i in range(6):
        step.override(task_id=f"step_{i}")(i)


metadb_stress_hourly()
