"""
### clickstream_alert_drill

Proves that this deployment's alerts reach people. Trigger it by hand (it has no
schedule) after setting up `smtp_default` and `kafka_default`, and after changing them.

1. `outlast_the_deadline` waits `hold_seconds` (param, default 150), longer than the
   run's one-minute deadline. The scheduler notices the missed deadline and the
   triggerer emails "[clickstream] clickstream_alert_drill run … is late", the mail
   every platform DAG sends when a run is late (`clickstream_airflow.notifiers.run_deadline`).
2. `fail_on_purpose` then fails for good (AirflowFailException skips its retries), so
   the failure notifiers send their email ("… clickstream_alert_drill.fail_on_purpose
   failed …") and a record with `kind = "airflow_failure"` to the alerts topic.

The run ends failed, as it should. Both emails and the record arriving is the drill
passing; a missing one points at that path's connection or at the triggerer.
"""

from __future__ import annotations

import time

import pendulum
from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from clickstream_airflow.notifiers import dag_defaults, run_deadline

DEADLINE = pendulum.duration(minutes=1)


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["clickstream", "operations"],
    deadline=run_deadline(DEADLINE, name="drill_late"),
    default_args=dag_defaults(pendulum.duration(seconds=10)),
    params={"hold_seconds": Param(150, type="integer", minimum=0, maximum=3600,
                                  description="how long the first task runs (the deadline is 60 s)")},
    doc_md=__doc__,
)
def clickstream_alert_drill():
    @task
    def outlast_the_deadline(params: dict | None = None) -> int:
        """Keep the run going past its deadline."""
        time.sleep(params["hold_seconds"])
        return params["hold_seconds"]

    @task
    def fail_on_purpose(held: int) -> None:
        """Fail for good, so that the failure notifiers run."""
        raise AirflowFailException(f"alert drill: this failure is intended (held the run {held} s)")

    fail_on_purpose(outlast_the_deadline())


clickstream_alert_drill()
