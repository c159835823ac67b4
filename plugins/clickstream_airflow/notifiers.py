"""Failure alerts of the platform's DAGs: an email through ``smtp_default`` and a message on the alerts topic.

Every DAG takes its ``default_args`` from ``dag_defaults()``, which sets
``on_failure_callback=failure_notifiers()``, so a task that has used up its
retries sends both. The
email goes through the SMTP provider's ``SmtpNotifier`` (embedded: the mail
sink, messages in ``data/mail/new``; production: your relay). The topic
message goes through the Kafka provider's producer hook on ``kafka_default``
and has the same shape as the streaming job's real-time alerts, with
``kind = "airflow_failure"``, so one consumer sees both.

Lateness is alerted with Airflow's deadline alerts: ``run_deadline(after)`` emails
when a DAG run has not finished ``after`` it was queued. The scheduler notices the
missed deadline and the triggerer sends the email (``LateRunEmail``, an ``SmtpNotifier``), so a
run stuck in a sensor or a queue is reported while it is still running. A run that has failed by then
gets no late-run email: its failure alerts went out already (clickstream_airflow/late_run.py).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from airflow.sdk import AsyncCallback, BaseNotifier, DeadlineAlert, DeadlineReference

_NS = uuid.UUID("0b1c5a0e-8d4f-4a57-9a65-5f3c2e7d9b11")

SUBJECT = "[clickstream] {{ ti.dag_id }}.{{ ti.task_id }} failed (run {{ ti.run_id }})"
BODY = """
<h3>{{ ti.dag_id }}.{{ ti.task_id }} failed after {{ ti.try_number }} tries</h3>
<p>Run: {{ ti.run_id }}<br>Logical date: {{ dag_run.logical_date or "n/a" }}<br>
Error: <code>{{ exception | e }}</code></p>
<p><a href="{{ ti.log_url }}">Task log</a></p>
"""

DEADLINE_SUBJECT = "[clickstream] {{ dag_run.dag_id }} run {{ dag_run.dag_run_id }} is late"
DEADLINE_BODY = """
<h3>{{ dag_run.dag_id }} has not finished run {{ dag_run.dag_run_id }} in time</h3>
<p>Queued at {{ dag_run.queued_at }}; the deadline was {{ deadline.deadline_time }}.<br>
State now: {{ dag_run.state }}. Logical date: {{ dag_run.logical_date or "n/a" }}.</p>
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


def dag_defaults(retry_delay, retries: int = 2, **more) -> dict:
    """Return the default_args of every platform DAG: owner, retries, and the failure notifiers."""
    return {"owner": "clickstream", "on_failure_callback": failure_notifiers(), "retries": retries,
            "retry_delay": retry_delay, **more}


def run_deadline(after, name: str = "run_late") -> DeadlineAlert:
    """Return a deadline alert: an email when a DAG run is unfinished ``after`` (a timedelta) its queueing.

    Counted from when the run was queued, not from its logical date, so backfills and
    catch-up runs of old intervals are held to the same limit as today's runs.
    """
    from clickstream.settings import get_settings
    from clickstream_airflow.late_run import LateRunEmail

    settings = get_settings()
    return DeadlineAlert(  # the DAG serializer takes a datetime.timedelta, not a pendulum Duration
        reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=timedelta(seconds=after.total_seconds()),
        name=name,
        callback=AsyncCallback(LateRunEmail, kwargs={
            "to": settings.alert_email, "from_email": settings.alert_from, "subject": DEADLINE_SUBJECT,
            "html_content": DEADLINE_BODY, "smtp_conn_id": "smtp_default"}),
    )  # fmt: skip
