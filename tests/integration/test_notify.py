"""DAG failure notifiers: a real email to the embedded mail sink and a message on the alerts topic."""

from __future__ import annotations

import email
import time
from types import SimpleNamespace

import pytest

from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration


def test_failure_notifiers_send_email_and_alert(stack, broker, settings):
    from clickstream.notify import failure_notifiers

    stack.up(["mail"])
    ti = SimpleNamespace(dag_id="clickstream_hourly", task_id="aggregate_hour",
                         run_id="scheduled__2026-11-20", try_number=3, log_url="http://127.0.0.1:8080/log")
    context = {"ti": ti, "exception": RuntimeError("hour 13 has 0 rows in raw_events"),
               "logical_date": "2026-11-20T13:00:00+00:00"}
    for notifier in failure_notifiers():   # as Airflow calls them: render the templates, then notify
        notifier(dict(context))

    inbox = settings.data_dir / "mail" / "new"
    for _ in range(50):
        if inbox.exists() and any(inbox.iterdir()):
            break
        time.sleep(0.2)
    (path,) = list(inbox.iterdir())
    message = email.message_from_bytes(path.read_bytes())
    assert message["To"] == settings.alert_email and message["From"] == settings.alert_from
    assert message["Subject"] == ("[clickstream] clickstream_hourly.aggregate_hour failed "
                                  "(run scheduled__2026-11-20)")
    body = next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True)
    assert b"failed after 3 tries" in body and b"hour 13 has 0 rows in raw_events" in body

    alerts = [r["value"] for r in read_topic(settings.kafka_bootstrap, settings.topic_alerts)
              if isinstance(r["value"], dict) and r["value"].get("kind") == "airflow_failure"]
    assert [(a["subject"], a["severity"], a["app_id"]) for a in alerts] == [
        ("clickstream_hourly.aggregate_hour", "critical", "platform")]
    assert alerts[0]["message"] == ("clickstream_hourly.aggregate_hour failed in run scheduled__2026-11-20 "
                                    "after 3 tries: hour 13 has 0 rows in raw_events")
