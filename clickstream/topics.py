"""The Kafka topics of the platform, created idempotently."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from clickstream.settings import Settings

log = logging.getLogger(__name__)


def topic_specs(settings: Settings) -> dict[str, int]:
    """Return each topic of the platform with its partition count."""
    return {
        settings.topic_events: settings.events_partitions,
        settings.topic_dlq: 1,
        settings.topic_alerts: 1,
    }


def ensure_topics(settings: Settings, timeout: float = 15.0) -> dict[str, int]:
    """Create any missing topic and return the partition count of each."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    wanted = topic_specs(settings)
    existing = admin.list_topics(timeout=timeout).topics
    missing = [NewTopic(t, n, 1) for t, n in wanted.items() if t not in existing]
    if missing:
        for topic, future in admin.create_topics(missing, request_timeout=timeout).items():
            try:
                future.result(timeout=timeout)
                log.info("created topic %s", topic)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    topics = admin.list_topics(timeout=timeout).topics
    return {t: len(topics[t].partitions) for t in wanted}
