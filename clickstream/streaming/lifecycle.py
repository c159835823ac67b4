"""How the streaming application says where it runs, and how it is stopped between micro-batches.

Both go through one control directory in the warehouse (``Settings.streaming_control_uri``), so they
work the same on ``file://`` (embedded) and ``hdfs://`` (YARN, where the driver may run on any node):

- ``application.json``: written when the application starts — Spark's application id (``local-…``
  or ``application_…``), master, host, driver PID and start time. ``make status`` reads it.
- ``stop``: a stop request. An application that sees one newer than its own start stops every query
  at a micro-batch boundary (it waits, up to 10 s, for the running trigger to finish), flushes
  what it buffers and exits 0, so the Airflow task that submitted it succeeds instead of failing
  and consuming a retry. ``make stop`` writes it; on a cluster, an operator pauses the
  ``clickstream_streaming`` DAG and writes it (``hdfs dfs -touchz <warehouse>/_control/streaming/stop``).
  A request older than the application is ignored: a stop cannot outlive the stop it was meant for.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from datetime import UTC, datetime

from pyspark.sql import SparkSession

from clickstream.streaming.archive import modified_at, write_text

log = logging.getLogger("clickstream.lifecycle")

APPLICATION_FILE = "application.json"
STOP_FILE = "stop"
# The longest a query's running micro-batch is waited for. A query whose batches run back to back
# (behind the log end) has no boundary to wait for: it is stopped in its batch, which its next
# start redoes from the checkpoint, exactly once.
BATCH_WAIT_S = 10.0


def record_application(spark: SparkSession, control_uri: str, started: float) -> dict:
    """Write where this application runs to ``<control>/application.json``; return what was written."""
    conf = spark.sparkContext.getConf()
    record = {
        "app_id": spark.sparkContext.applicationId,
        "master": conf.get("spark.master", ""),
        "deploy_mode": conf.get("spark.submit.deployMode", "client"),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": datetime.fromtimestamp(started, UTC).isoformat(),
    }
    write_text(spark, f"{control_uri.rstrip('/')}/{APPLICATION_FILE}", json.dumps(record, indent=2) + "\n")
    return record


class StopRequest:
    """A stop request in the control directory written after this application started."""

    def __init__(self, spark: SparkSession, control_uri: str, started: float):
        self.spark, self.uri, self.started = spark, f"{control_uri.rstrip('/')}/{STOP_FILE}", started

    def requested(self) -> bool:
        """Return whether a stop was requested since the application started."""
        at = modified_at(self.spark, self.uri)
        return at is not None and at >= self.started


def stop_between_batches(queries, wait_s: float = BATCH_WAIT_S) -> None:
    """Stop each query when no micro-batch of it is running (or after wait_s): its next batch redoes nothing.

    A query stopped mid-batch is still exactly-once (the batch runs again from its checkpoint at the
    next start); waiting for the boundary saves redoing it and shortens the next start.
    """
    deadline = time.monotonic() + wait_s
    pending = list(queries)
    while pending:
        for query in list(pending):
            if not query.isActive:
                pending.remove(query)
            elif not query.status["isTriggerActive"] or time.monotonic() >= deadline:
                if query.status["isTriggerActive"]:
                    log.warning("query %s still in a micro-batch after %.0f s: stopping it there",
                                query.name, wait_s)
                query.stop()
                log.info("query %s stopped", query.name)
                pending.remove(query)
        if pending:
            time.sleep(0.05)


def run_until_stopped(spark: SparkSession, stop: StopRequest, poll_s: float = 1.0) -> bool:
    """Wait for the active queries; return True when a stop request ended them, False when one ended.

    A query that fails re-raises its error here, so that one query failing ends the application (and
    Airflow retries it) rather than leaving the others running without it.
    """
    while True:
        if spark.streams.awaitAnyTermination(poll_s):
            return False
        if stop.requested():
            log.info("stop requested: stopping the queries between micro-batches")
            stop_between_batches(spark.streams.active)
            return True
