"""The streaming application's control directory: where it runs, stop requests, a stop between micro-batches.

A real query reads a real topic with Spark's Kafka connector; what the monitor reads from outside
(committed offsets, lag) is compared with what the query's own batches saw.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from confluent_kafka import Producer

from clickstream.streaming import monitor
from clickstream.streaming.lifecycle import StopRequest, run_until_stopped
from tests.support.kafka import create_topics

RECORDS = 6000  # 120 batches of 50, one a second: the stop comes long before the end
PER_BATCH = 50


@pytest.mark.usefixtures("broker")
def test_a_requested_stop_ends_the_queries_between_micro_batches(spark, tmp_path, settings):
    (topic,) = create_topics(settings.kafka_bootstrap, 1)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for i in range(RECORDS):
        producer.produce(topic, str(i).encode())
    assert producer.flush(30) == 0
    seen: list[int] = []

    def slow_batch(batch, batch_id):
        seen.append(batch.count())
        time.sleep(0.4)  # the stop request may arrive while one runs

    here = settings.replace(warehouse_uri=tmp_path.as_uri(), topic_events=topic)
    checkpoint = here.checkpoint_path(monitor.INGEST_CHECKPOINT)
    query = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", settings.kafka_bootstrap)
             .option("subscribe", topic).option("startingOffsets", "earliest")
             .option("maxOffsetsPerTrigger", PER_BATCH).load()
             .writeStream.foreachBatch(slow_batch).option("checkpointLocation", checkpoint)
             .trigger(processingTime="1 second").start())
    started = time.time()
    request = StopRequest(spark, here.streaming_control_uri, started)
    control = tmp_path / "_control" / "streaming"
    control.mkdir(parents=True)
    threading.Timer(4.0, lambda: (control / "stop").write_text("stop\n")).start()
    spark.streams.resetTerminated()  # queries of earlier tests in this session
    try:
        assert run_until_stopped(spark, request, poll_s=0.5) is True
    finally:
        query.stop()
    assert not query.isActive and query.exception() is None
    # Stopped at a boundary: every batch Spark planned was committed, none is left to redo.
    offsets = sorted(int(n) for n in os.listdir(tmp_path / "_checkpoints" / "ingest" / "offsets")
                     if n.isdigit())
    commits = sorted(int(n) for n in os.listdir(tmp_path / "_checkpoints" / "ingest" / "commits")
                     if n.isdigit())
    assert offsets == commits == list(range(len(seen)))
    assert 0 < sum(seen) < RECORDS
    # What the monitor reads from outside equals what the batches saw.
    assert monitor.committed_offsets(checkpoint) == {topic: {0: sum(seen)}}
    assert monitor.lag(here) == {0: RECORDS - sum(seen)}
