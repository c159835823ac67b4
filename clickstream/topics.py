"""The Kafka topics of the platform, created idempotently."""

from __future__ import annotations

import logging
import time

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


def ensure_topics(settings: Settings, timeout: float = 30.0) -> dict[str, int]:
    """Create any missing topic and return the partition count of each.

    A broker that has just started may refuse a creation for a moment, and a new topic reaches its
    metadata a moment after it was created: both are waited for until the timeout.
    """
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    wanted = topic_specs(settings)
    deadline = time.monotonic() + timeout
    while True:
        existing = admin.list_topics(timeout=timeout).topics
        missing = [NewTopic(t, n, 1) for t, n in wanted.items() if t not in existing]
        failed = []
        if missing:
            for topic, future in admin.create_topics(missing, request_timeout=timeout).items():
                try:
                    future.result(timeout=timeout)
                    log.info("created topic %s", topic)
                except KafkaException as exc:
                    if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                        failed.append(exc)
        if not failed:
            break
        if time.monotonic() > deadline:
            raise failed[0]
        log.info("creating topics failed (%s); retrying", failed[0])
        time.sleep(1)
    # A topic just created reaches the broker's metadata a moment later.
    while True:
        topics = admin.list_topics(timeout=timeout).topics
        if all(t in topics for t in wanted) or time.monotonic() > deadline:
            return {t: len(topics[t].partitions) if t in topics else 0 for t in wanted}
        time.sleep(0.2)


class TopicError(RuntimeError):
    """A topic the platform needs is missing, or the broker cannot be reached."""


def require_topics(settings: Settings, *topics: str, timeout: float = 30.0) -> None:
    """Raise a TopicError naming the broker or the topic, and the remedy, unless every topic exists."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise TopicError(
            f"Kafka at {settings.kafka_bootstrap} did not answer within {timeout:.0f} s ({exc.args[0]}): "
            "is the broker running? (`make status`; embedded: `make run` starts it)") from exc
    missing = [t for t in topics if t not in existing]
    if missing:
        raise TopicError(
            f"topic {', '.join(missing)} does not exist on {settings.kafka_bootstrap}: create the "
            "platform's topics with `python -m clickstream.topics` (`make run` does it), and check "
            "CLICKSTREAM_TOPIC_* if the names are wrong")


def log_bounds(settings: Settings, topic: str, timeout: float = 30.0) -> dict[int, tuple[int, int]]:
    """Return each partition's (first offset, log end) on the broker."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "clickstream-bounds",
                         "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
                for p in partitions}
    finally:
        consumer.close()


if __name__ == "__main__":
    from clickstream.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name, count in ensure_topics(get_settings()).items():
        print(f"{name}: {count} partitions")
