"""The Kafka offsets in the checkpoints of the queries that read the topic, checked before they start.

Spark's Kafka source keeps its offsets in each query's checkpoint. Before the application starts its
queries it reads the offsets those queries last planned and compares them with the broker's log, so
that a reset log or retention that deleted unread records stops it with a message saying what was
lost and what to do, instead of a stack trace from inside a micro-batch.
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from clickstream.streaming.archive import planned_offsets, retire_checkpoint
from clickstream.topics import TopicError

log = logging.getLogger("clickstream.kafka_offsets")

# The queries that read the events topic, by checkpoint name: the application's one query.
TOPIC_READERS = ("ingest",)


class DataLossError(TopicError):
    """Offsets a streaming query planned to read are no longer in the broker's log."""


def lost_offsets(read: dict[str, dict[str, int]],
                 bounds: dict[str, dict[int, tuple[int, int]]]) -> list[tuple[str, str]]:
    """Return (kind, what) per partition whose offsets a query planned are no longer in the broker's log.

    kind is "reset" (the log ends before them) or "retention" (the log starts after them).
    read: {topic: {partition: offset}} from the query's checkpoint;
    bounds: {topic: {partition: (first offset, log end)}} from the broker.
    """
    problems = []
    for topic, partitions in sorted(read.items()):
        numbered = {p: o for p, o in partitions.items() if p.isdigit() and isinstance(o, int)}
        for partition, offset in sorted(numbered.items(), key=lambda kv: int(kv[0])):
            first, end = bounds.get(topic, {}).get(int(partition), (0, 0))
            where = f"{topic} partition {partition}: the application has read up to offset {offset}, but"
            if offset > end:
                problems.append(("reset", f"{where} the broker's log ends at {end}"))
            elif offset < first:
                problems.append(("retention", f"{where} the broker's log now starts at {first}"))
    return problems


def retire_python_source_checkpoints(spark: SparkSession, checkpoints: list[str]) -> list[str]:
    """Move aside checkpoints written by the retired Python Kafka source (before 2026-12-03); return them.

    Spark's own source cannot read their offsets ({topic: {"id", "offsets"}}), and the broker they
    point into kept its log in memory, which is gone. The archive keeps what they archived; the new
    checkpoints write files under new query ids, so nothing is overwritten or archived twice.
    """
    moved = []
    for location in checkpoints:
        offsets = planned_offsets(spark, location)
        if any("offsets" in partitions for partitions in offsets.values()):
            moved.append(retire_checkpoint(spark, location, "python-source"))
            log.warning("checkpoint %s was written by the retired Python Kafka source; moved to %s, the "
                        "query starts afresh from the topic's earliest offset", location, moved[-1])
    return moved


def lost_offsets_error(spark: SparkSession, checkpoints: list[str],
                       bounds: dict[str, dict[int, tuple[int, int]]]) -> str | None:
    """Return what was lost and what to do when offsets the checkpoints planned are gone; None otherwise.

    bounds: {topic: {partition: (first offset, log end)}}, as clickstream.topics.log_bounds gives them.
    """
    problems = {what: kind for location in checkpoints
                for kind, what in lost_offsets(planned_offsets(spark, location), bounds)}
    if not problems:
        return None
    if "reset" in problems.values():
        which = f"checkpoint{'s' * (len(checkpoints) > 1)} {' and '.join(checkpoints)}"
        remedy = ("The broker's log was reset (its data directory deleted, or another cluster): events "
                  "the application had not archived are gone with it. To read the new log from its start, "
                  f"delete the {which} while the application is stopped")
    else:
        remedy = ("Retention deleted records the application had not read (it was down longer than the "
                  "topic keeps them; embedded: CLICKSTREAM_KAFKA_RETENTION_HOURS / _MB). To carry on from "
                  "the earliest offset still there, run it once with --no-fail-on-data-loss (Airflow: "
                  'trigger clickstream_streaming with {"fail_on_data_loss": false})')
    return "; ".join(problems) + ". " + remedy
