"""The streaming application's control directory: where it runs, stop requests, a stop between micro-batches.

A real query reads a real topic with Spark's Kafka connector; what the monitor reads from outside
(committed offsets, lag) is compared with what the query's own batches saw.
"""

from __future__ import annotations

import os
import time

from clickstream.streaming import monitor
from clickstream.streaming.lifecycle import StopRequest, record_application

RECORDS = 6000  # 120 batches of 50, one a second: the stop comes long before the end
PER_BATCH = 50


def test_the_application_record_says_which_spark_application_runs(spark, tmp_path, settings):
    here = settings.replace(warehouse_uri=tmp_path.as_uri())
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
