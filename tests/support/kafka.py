"""Reading whole topics back from the real broker in tests."""

from __future__ import annotations

import time
import uuid

import orjson
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def create_topics(bootstrap: str, *partitions: int) -> list[str]:
    """Create fresh uniquely named topics with the given partition counts."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [f"t-{uuid.uuid4().hex[:10]}" for _ in partitions]
    futures = admin.create_topics([NewTopic(n, p, 1) for n, p in zip(names, partitions, strict=True)])
    for future in futures.values():
        future.result(timeout=15)
    return names


def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list[dict]:
    """Return every record of a topic as {partition, offset, key, value (parsed JSON, else text)}."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    n = len(admin.list_topics(topic, timeout=10).topics[topic].partitions)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(n)])
    records, at_eof = [], set()
    deadline = time.monotonic() + timeout
    try:
        while len(at_eof) < n and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                at_eof.add(msg.partition())
                continue
            at_eof.discard(msg.partition())
            try:
                value = orjson.loads(msg.value())
            except orjson.JSONDecodeError:
                value = msg.value().decode(errors="replace")  # not JSON: keep the text
            records.append({"partition": msg.partition(), "offset": msg.offset(),
                            "key": msg.key().decode() if msg.key() else None, "value": value})
    finally:
        consumer.close()
    if len(at_eof) < n:
        raise TimeoutError(f"did not reach the end of {topic} in {timeout}s")
    return records


def produce_events(settings, events: list[dict]) -> None:
    """Write enriched events straight to the events topic, keyed by session, as the collectors would."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 20})
    for event in events:
        producer.produce(settings.topic_events, orjson.dumps(event), event["session_id"].encode())
    assert producer.flush(30) == 0
