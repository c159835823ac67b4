"""DAG failure notifiers: a real email to the embedded mail sink and a message on the alerts topic."""

from __future__ import annotations

import email
import time

from tests.support.kafka import read_topic

PROBE_DAG = """
import pendulum
from airflow.sdk import dag, task

from clickstream_airflow.notifiers import failure_notifiers


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     default_args={"owner": "clickstream", "retries": 1, "retry_delay": pendulum.duration(seconds=0),
                   "on_failure_callback": failure_notifiers()})
def notify_probe():
    @task
    def always_fails():
        raise RuntimeError("the warehouse is on fire")

    always_fails()


notify_probe()
"""


def test_a_task_that_fails_after_its_retries_sends_both(airflow_db, stack, broker, settings, tmp_path):
    """Real Airflow: dag.test() runs a task that always fails; after its retry the notifiers fire."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    stack.up(["mail"])
    inbox = settings.data_dir / "mail" / "new"
    before = set(inbox.iterdir()) if inbox.exists() else set()
    (tmp_path / "notify_probe.py").write_text(PROBE_DAG)
    bag = DagBag(dag_folder=str(tmp_path / "notify_probe.py"))
    assert bag.import_errors == {}
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)  # dag.test() runs serialized DAGs only
    run = bag.dags["notify_probe"].test()
    assert run.state == "failed"

    new = []
    for _ in range(50):
        new = sorted(set(inbox.iterdir()) - before) if inbox.exists() else []
        if new:
            break
        time.sleep(0.2)
    (path,) = new
    message = email.message_from_bytes(path.read_bytes())
    assert message["To"] == settings.alert_email and message["From"] == settings.alert_from
    assert message["Subject"] == f"[clickstream] notify_probe.always_fails failed (run {run.run_id})"
    body = next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True)
    assert b"failed after 2 tries" in body and b"the warehouse is on fire" in body
    alerts = [r["value"] for r in read_topic(settings.kafka_bootstrap, settings.topic_alerts)
              if isinstance(r["value"], dict) and r["value"].get("subject") == "notify_probe.always_fails"]
    assert [(a["kind"], a["severity"], a["app_id"], a["value"]) for a in alerts] == [
        ("airflow_failure", "critical", "platform", 2.0)]
    assert alerts[0]["message"] == (f"notify_probe.always_fails failed in run {run.run_id} after 2 tries: "
                                    "the warehouse is on fire")
