"""The Kafka Python Data Source against the real embedded broker (Tansu)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

pytestmark = pytest.mark.integration


def produce(bootstrap: str, topic: str, n: int, *, seconds: float = 0.0, prefix: str = "v") -> dict:
    """Produce n keyed records (spread over `seconds`); return {(partition, offset): value}."""
    acked: dict[tuple[int, int], str] = {}
    errors: list = []

    def on_delivery(err, msg):
        if err:
            errors.append(err)
        else:
            acked[(msg.partition(), msg.offset())] = msg.value().decode()

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 2})
    for i in range(n):
        producer.produce(topic, key=f"s{i % 37}", value=f"{prefix}{i}", on_delivery=on_delivery)
        producer.poll(0)
        if seconds and i % 200 == 199:
            time.sleep(seconds * 200 / n)
    assert producer.flush(30) == 0
    assert errors == []
    return acked


def new_topic(bootstrap: str, partitions: int = 6) -> str:
    name = f"src-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=15)
    return name


def stream(spark, bootstrap, topic, out, checkpoint, **options):
    reader = (spark.readStream.format("clickstream_kafka")
              .option("kafka.bootstrap.servers", bootstrap)
              .option("subscribe", topic)
              .option("startingOffsets", "earliest"))
    for key, value in options.items():
        reader = reader.option(key, str(value))
    return (reader.load()
            .selectExpr("partition", "offset", "CAST(value AS STRING) AS value", "timestamp")
            .writeStream.format("parquet").option("path", str(out))
            .option("checkpointLocation", str(checkpoint)).start())


def sink_rows(spark, out) -> list[tuple[int, int, str]]:
    return [(r.partition, r.offset, r.value) for r in spark.read.parquet(str(out)).collect()]


def test_many_micro_batches_while_events_keep_arriving_lose_nothing(spark, broker, tmp_path):
    topic = new_topic(broker)
    produced: dict = {}
    producer = threading.Thread(
        target=lambda: produced.update(produce(broker, topic, 30_000, seconds=20)))
    producer.start()
    query = stream(spark, broker, topic, tmp_path / "out", tmp_path / "cp", maxOffsetsPerTrigger=400)
    try:
        producer.join()
        query.processAllAvailable()  # every record the producer had acknowledged
        batches = [p for p in query.recentProgress if p["numInputRows"] > 0]
    finally:
        query.stop()
    rows = sink_rows(spark, tmp_path / "out")
    assert len(rows) == len(set(rows)), "duplicates"
    assert {(p, o): v for p, o, v in rows} == produced
    assert len(produced) == 30_000
    assert len(batches) >= 50, f"only {len(batches)} micro-batches"
    assert max(b["numInputRows"] for b in batches) <= 400


def test_restarted_log_is_read_from_its_start_without_loss_or_duplicates(spark, broker, tmp_path):
    topic = new_topic(broker, partitions=3)
    first = produce(broker, topic, 1000, prefix="old")
    query = stream(spark, broker, topic, tmp_path / "out", tmp_path / "cp", failOnDataLoss="false")
    query.processAllAvailable()
    query.stop()

    # What a broker restart does to the embedded broker's memory log: same name, new id, offset 0.
    admin = AdminClient({"bootstrap.servers": broker})
    admin.delete_topics([topic])[topic].result(timeout=15)
    time.sleep(1)
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(timeout=15)
    second = produce(broker, topic, 600, prefix="new")

    query = stream(spark, broker, topic, tmp_path / "out", tmp_path / "cp", failOnDataLoss="false")
    query.processAllAvailable()
    query.stop()
    rows = sink_rows(spark, tmp_path / "out")
    assert sorted(v for _, _, v in rows) == sorted([*first.values(), *second.values()])

    strict = stream(spark, broker, topic, tmp_path / "out2", tmp_path / "cp", failOnDataLoss="true")
    admin.delete_topics([topic])[topic].result(timeout=15)
    time.sleep(1)
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(timeout=15)
    produce(broker, topic, 10, prefix="newer")
    with pytest.raises(Exception, match="was recreated"):
        strict.processAllAvailable()
    strict.stop()


def test_a_replayed_range_of_a_vanished_log_is_never_read_from_the_new_one(broker):
    from clickstream.streaming.kafka_source import DataLossError, Range, current_topic_id, read_range

    topic = new_topic(broker, partitions=1)
    produce(broker, topic, 10, prefix="old")
    old_id = current_topic_id(broker, topic)
    planned = Range(topic, 0, 3, 8, old_id)  # a batch planned on the old log
    assert [v.as_py() for b in read_range(broker, planned) for v in b.column("value")] == \
        [f"old{i}".encode() for i in range(3, 8)]

    admin = AdminClient({"bootstrap.servers": broker})
    admin.delete_topics([topic])[topic].result(timeout=15)
    time.sleep(1)
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=15)
    produce(broker, topic, 20, prefix="new")  # the new log has records at offsets 3..7 too
    assert current_topic_id(broker, topic) != old_id

    assert list(read_range(broker, planned, fail_on_data_loss=False)) == []
    with pytest.raises(DataLossError, match="no longer exists"):
        list(read_range(broker, planned, fail_on_data_loss=True))


def test_small_batches_are_read_by_few_tasks_and_big_ones_by_a_task_per_partition():
    from clickstream.streaming.kafka_source import Range, pack

    def tasks(sizes, min_records):
        ranges = [Range("t", p, 100, 100 + n) for p, n in enumerate(sizes)]
        return sorted(sorted(r.partition for r in task) for task in pack(ranges, min_records))

    # 1,600 records over six partitions: one task reads them all.
    assert tasks([300, 250, 280, 260, 240, 270], 20_000) == [[0, 1, 2, 3, 4, 5]]
    # 45,000 records: two tasks, the biggest ranges spread between them.
    assert tasks([15_000, 10_000, 9_000, 6_000, 5_000], 20_000) == [[0, 3], [1, 2, 4]]
    # Enough records for every partition: one task each.
    assert tasks([30_000, 25_000, 28_000], 20_000) == [[0], [1], [2]]
    assert pack([], 20_000) == []
