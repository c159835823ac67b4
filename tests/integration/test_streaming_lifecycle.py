"""The streaming application's control directory: where it runs, stop requests, a stop between micro-batches.

A real query reads a real topic with Spark's Kafka connector; what the monitor reads from outside
(committed offsets, lag) is compared with what the query's own batches saw.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time

import pytest
from confluent_kafka import Producer

from clickstream.streaming import monitor
from clickstream.streaming.lifecycle import StopRequest, record_application, run_until_stopped
from tests.support.kafka import create_topics

RECORDS = 6000  # 120 batches of 50, one a second: the stop comes long before the end
PER_BATCH = 50


def test_the_application_record_says_which_spark_application_runs(spark, tmp_path, settings):
    here = dataclasses.replace(settings, warehouse_uri=tmp_path.as_uri())
    assert here.streaming_control_uri == f"{tmp_path.as_uri()}/_control/streaming"
    written = record_application(spark, here.streaming_control_uri, time.time())
    read = monitor.application(here)
    assert read == written
    assert read["app_id"] == spark.sparkContext.applicationId and read["app_id"].startswith("local-")
    assert read["pid"] == os.getpid() and read["master"] == "local[2]"


def test_a_stop_request_older_than_the_application_is_ignored(spark, tmp_path):
    control = tmp_path / "control"
    control.mkdir()
    (control / "stop").write_text("an old request\n")
    os.utime(control / "stop", (time.time() - 60, time.time() - 60))
    request = StopRequest(spark, control.as_uri(), started=time.time() - 10)
    assert not request.requested()
    (control / "stop").write_text("a new request\n")
    assert request.requested()
    assert not StopRequest(spark, (tmp_path / "none").as_uri(), started=0).requested()


@pytest.mark.integration
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

    here = dataclasses.replace(settings, warehouse_uri=tmp_path.as_uri(), topic_events=topic)
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


def test_committed_offsets_are_those_of_the_newest_committed_batch(tmp_path):
    root = tmp_path / "cp"
    (root / "offsets").mkdir(parents=True)
    (root / "commits").mkdir()
    meta = '{"batchWatermarkMs":0,"batchTimestampMs":1764720000000,"conf":{}}'
    for batch, (a, b) in enumerate([(10, 4), (25, 9), (40, 12)]):
        (root / "offsets" / str(batch)).write_text(f'v1\n{meta}\n{{"events":{{"0":{a},"1":{b}}}}}')
    for batch in (0, 1):  # batch 2 planned, not committed (the application stopped mid-batch)
        (root / "commits" / str(batch)).write_text('v1\n{"nextBatchWatermarkMs":0}')
    (root / "commits" / ".2.tmp").write_text("v1\n")
    assert monitor.committed_offsets(root.as_uri()) == {"events": {0: 25, 1: 9}}
    assert monitor.committed_offsets((tmp_path / "never").as_uri()) == {}
