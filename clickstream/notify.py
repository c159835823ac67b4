"""Failure alerts of the platform's DAGs: an email through ``smtp_default`` and a message on the alerts topic.

Every DAG sets ``on_failure_callback=failure_notifiers()`` in its
``default_args``, so a task that has used up its retries sends both. The
email goes through the SMTP provider's ``SmtpNotifier`` (embedded: the mail
sink, messages in ``data/mail/new``; production: your relay). The topic
message goes through the Kafka provider's producer hook on ``kafka_default``
and has the same shape as the streaming job's real-time alerts, with
``kind = "airflow_failure"``, so one consumer sees both.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from airflow.sdk import BaseNotifier

_NS = uuid.UUID("0b1c5a0e-8d4f-4a57-9a65-5f3c2e7d9b11")

SUBJECT = "[clickstream] {{ ti.dag_id }}.{{ ti.task_id }} failed (run {{ ti.run_id }})"
BODY = """
<h3>{{ ti.dag_id }}.{{ ti.task_id }} failed after {{ ti.try_number }} tries</h3>
<p>Run: {{ ti.run_id }}<br>Logical date: {{ logical_date or "n/a" }}<br>
Error: <code>{{ exception | e }}</code></p>
<p><a href="{{ ti.log_url }}">Task log</a></p>
"""


class AlertsTopicNotifier(BaseNotifier):
    """Sends a DAG failure to the alerts topic through the Kafka provider's producer hook."""

    template_fields = ("topic",)

    def __init__(self, *, topic: str, kafka_config_id: str = "kafka_default"):
        super().__init__()
        self.topic = topic
        self.kafka_config_id = kafka_config_id

    def notify(self, context) -> None:
        """Produce one alert describing the failed task instance, and wait for the broker."""
        from airflow.providers.apache.kafka.hooks.produce import KafkaProducerHook

        alert = failure_alert(context)
        producer = KafkaProducerHook(kafka_config_id=self.kafka_config_id).get_producer()
        producer.produce(self.topic, key=alert["alert_id"].encode(), value=json.dumps(alert).encode())
        if producer.flush(15):
            raise RuntimeError(f"alert for {alert['subject']} not delivered to {self.topic}")
        self.log.info("sent %s to %s", alert["message"], self.topic)


def failure_alert(context) -> dict:
    """Return the alerts-topic record of a failed task instance."""
    ti = context["ti"]
    now = datetime.now(UTC)
    subject = f"{ti.dag_id}.{ti.task_id}"
    error = str(context.get("exception") or context.get("reason") or "failed")
    return {
        "alert_id": str(uuid.uuid5(_NS, f"{subject}|{ti.run_id}|{ti.try_number}")),
        "kind": "airflow_failure", "severity": "critical", "app_id": "platform", "subject": subject,
        "window_start": now.isoformat(), "window_end": now.isoformat(), "metric": "task_failed",
        "value": float(ti.try_number), "threshold": None,
        "message": f"{subject} failed in run {ti.run_id} after {ti.try_number} tries: {error[:500]}",
    }


def failure_notifiers() -> list[BaseNotifier]:
    """Return the notifiers every DAG runs when a task fails for good."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    from clickstream.settings import get_settings

    settings = get_settings()
    return [
        SmtpNotifier(to=settings.alert_email, from_email=settings.alert_from, subject=SUBJECT,
                     html_content=BODY, smtp_conn_id="smtp_default"),
        AlertsTopicNotifier(topic=settings.topic_alerts),
    ]
