"""A Spark 4 Python Data Source reading Kafka with confluent-kafka: `format("clickstream_kafka")`.

The embedded runtime cannot load Spark's built-in Kafka connector (no Maven
repository), so this source mirrors it: the same columns (key, value, topic,
partition, offset, timestamp, timestampType) and the options the platform
uses — ``kafka.bootstrap.servers``, ``subscribe``, ``startingOffsets``,
``maxOffsetsPerTrigger``, ``failOnDataLoss``. Offsets live in Spark's
checkpoint; no consumer group is used (the embedded broker's group
rebalancing is unreliable), partitions are read with ``assign()``.

End offsets come from the high watermark that Fetch responses carry, not
from ListOffsets: the embedded broker (Tansu 0.6.0) answers ListOffsets
"latest" with the base offset of the newest record batch + 1. Readers check
that offsets are contiguous and re-fetch when a fetch skips records, so a
broker that drops part of a batch at a micro-batch boundary cannot lose data
silently.

Offsets record the topic's id. When the embedded broker restarts it loses its
log (memory storage), the topic is created again with a new id and offsets
start at zero: the source notices the new id, logs it, and — with
``failOnDataLoss=false`` — continues from the start of the new log; with the
default ``true`` it fails the query, as the built-in source does.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.streaming.datasource import (
    ReadAllAvailable,
    ReadLimit,
    ReadMaxRows,
    SupportsTriggerAvailableNow,
)
from pyspark.sql.types import (
    BinaryType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

log = logging.getLogger("clickstream.kafka_source")

KAFKA_SCHEMA = StructType([
    StructField("key", BinaryType()),
    StructField("value", BinaryType()),
    StructField("topic", StringType()),
    StructField("partition", IntegerType()),
    StructField("offset", LongType()),
    StructField("timestamp", TimestampType()),
    StructField("timestampType", IntegerType()),
])  # fmt: skip

ARROW_SCHEMA = pa.schema([
    ("key", pa.binary()),
    ("value", pa.binary()),
    ("topic", pa.string()),
    ("partition", pa.int32()),
    ("offset", pa.int64()),
    ("timestamp", pa.timestamp("us", tz="UTC")),
    ("timestampType", pa.int32()),
])  # fmt: skip

BATCH_ROWS = 50_000
MIN_PARTITION_RECORDS = 20_000


class DataLossError(RuntimeError):
    """Offsets the query expected are gone from the broker."""


@dataclass(frozen=True)
class Range:
    """Offsets [start, end) of one Kafka partition, in the log with this topic id."""

    topic: str
    partition: int
    start: int
    end: int
    topic_id: str = ""


class KafkaDataSource(DataSource):
    """Kafka as a streaming source, with the built-in source's schema and options."""

    @classmethod
    def name(cls) -> str:
        """Return the format name."""
        return "clickstream_kafka"

    def schema(self) -> StructType:
        """Return the built-in Kafka source's schema."""
        return KAFKA_SCHEMA

    def streamReader(self, schema: StructType) -> KafkaStreamReader:
        """Return the reader of one streaming query."""
        return KafkaStreamReader(dict(self.options))


def _consumer_config(bootstrap: str, **extra) -> dict:
    return {
        "bootstrap.servers": bootstrap,
        "group.id": f"clickstream-spark-{uuid.uuid4().hex[:8]}",  # never joined: assign() only
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "error",  # an offset past the log end must surface, not reset
        **extra,
    }


class KafkaStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    """Plans micro-batches from true end offsets; reads them as Arrow record batches."""

    def __init__(self, options: dict[str, str]):
        opts = {k.lower(): v for k, v in options.items()}
        try:
            self.bootstrap = opts["kafka.bootstrap.servers"]
            self.topics = [t.strip() for t in opts["subscribe"].split(",") if t.strip()]
        except KeyError as exc:
            raise ValueError(f"option {exc.args[0]} is required") from exc
        self.starting = opts.get("startingoffsets", "latest")
        self.max_per_trigger = int(opts["maxoffsetspertrigger"]) if "maxoffsetspertrigger" in opts else None
        self.fail_on_data_loss = opts.get("failondataloss", "true").lower() != "false"
        self.probe_timeout = float(opts.get("probetimeoutms", "5000")) / 1000
        self.min_partition_records = int(opts.get("minpartitionrecords", MIN_PARTITION_RECORDS))
        self._admin = None
        self._probe = None
        self._target: dict | None = None
        self._latest: dict | None = None

    # -- broker state -------------------------------------------------------

    def _admin_client(self):
        if self._admin is None:
            from confluent_kafka.admin import AdminClient

            self._admin = AdminClient({"bootstrap.servers": self.bootstrap})
        return self._admin

    def _describe(self) -> dict[str, tuple[str, int]]:
        """Return {topic: (topic id, partition count)} of the topics that exist now."""
        from confluent_kafka import KafkaException, TopicCollection

        admin = self._admin_client()
        out = {}
        for topic, future in admin.describe_topics(TopicCollection(self.topics)).items():
            try:
                desc = future.result(timeout=10)
            except KafkaException as exc:
                log.warning("topic %s not available: %s", topic, exc)
                continue
            out[topic] = (str(desc.topic_id), len(desc.partitions))
        return out

    def _high_watermarks(self, positions: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """Return the log end of each partition, from the high watermark of a Fetch response."""
        from confluent_kafka import Consumer, KafkaError, TopicPartition

        if self._probe is None:
            # Tiny fetches: the probe wants the watermark a Fetch response carries, not the data.
            self._probe = Consumer(_consumer_config(
                self.bootstrap, **{"max.partition.fetch.bytes": 1024, "queued.max.messages.kbytes": 1,
                                   "fetch.wait.max.ms": 10, "fetch.queue.backoff.ms": 1,
                                   "queued.min.messages": 1}))  # fmt: skip
        probe = self._probe
        probe.assign([TopicPartition(t, p, off) for (t, p), off in positions.items()])
        answered: dict[tuple[str, int], int | None] = {}
        deadline = time.monotonic() + self.probe_timeout
        while len(answered) < len(positions) and time.monotonic() < deadline:
            # A fetch can queue a whole record batch of one partition: take the queue in bulk,
            # not a message per call, so the other partitions' answers are not kept waiting.
            for msg in probe.consume(num_messages=10_000, timeout=0.05):
                tp = (msg.topic(), msg.partition())
                err = msg.error()
                if err is None or err.code() == KafkaError._PARTITION_EOF:
                    answered.setdefault(tp, None)
                elif err.code() in (KafkaError.OFFSET_OUT_OF_RANGE, KafkaError._AUTO_OFFSET_RESET):
                    answered[tp] = -1  # our position is beyond the log: it was truncated or restarted
                else:
                    log.warning("probe of %s: %s", tp, err)
        ends = {}
        for tp, position in positions.items():
            if answered.get(tp) == -1:
                ends[tp] = -1
                continue
            _, high = probe.get_watermark_offsets(TopicPartition(*tp), cached=True)
            ends[tp] = high if tp in answered and high >= 0 else position
        probe.unassign()
        return ends

    # -- offsets ------------------------------------------------------------

    def initialOffset(self) -> dict:
        """Return where a new query starts: earliest, latest, or per-partition JSON."""
        described = self._describe()
        offsets: dict = {}
        explicit = json.loads(self.starting) if self.starting.strip().startswith("{") else None
        for topic, (topic_id, n) in described.items():
            if self.starting == "earliest":
                parts = dict.fromkeys(range(n), 0)
            elif explicit is not None:
                given = explicit.get(topic, {})
                parts = {p: int(given.get(str(p), 0)) for p in range(n)}
            else:  # latest
                ends = self._high_watermarks({(topic, p): 0 for p in range(n)})
                parts = {p: ends[(topic, p)] for p in range(n)}
            offsets[topic] = {"id": topic_id, "offsets": {str(p): o for p, o in parts.items()}}
        return offsets

    def _current(self, start: dict) -> dict:
        """Return the end offsets available now, handling new ids and new partitions."""
        described = self._describe()
        positions: dict[tuple[str, int], int] = {}
        ids: dict[str, str] = {}
        for topic, (topic_id, n) in described.items():
            previous = start.get(topic)
            if previous is not None and previous["id"] != topic_id:
                self._data_loss(
                    f"topic {topic} was recreated (id {previous['id']} -> {topic_id}): the broker's "
                    "log started over; continuing from the start of the new log"
                )
                previous = None
            ids[topic] = topic_id
            for p in range(n):
                positions[(topic, p)] = int(previous["offsets"].get(str(p), 0)) if previous else 0
        ends = self._high_watermarks(positions) if positions else {}
        result: dict = {}
        for topic, topic_id in ids.items():
            offsets = {}
            for (t, p), end in ends.items():
                if t != topic:
                    continue
                if end < 0:
                    self._data_loss(f"{t}[{p}] is shorter than offset {positions[(t, p)]}")
                    end = positions[(t, p)]
                offsets[str(p)] = end
            result[topic] = {"id": topic_id, "offsets": offsets}
        for topic, previous in start.items():
            result.setdefault(topic, previous)  # topic gone for now: no progress
        return result

    def _data_loss(self, message: str) -> None:
        if self.fail_on_data_loss:
            raise DataLossError(message + " (set failOnDataLoss=false to continue)")
        log.warning("data loss: %s", message)

    def latestOffset(self, start: dict, limit: ReadLimit) -> dict:
        """Return the end of the next micro-batch: the log end, capped by the read limit."""
        end = self._current(start)
        self._latest = end
        if self._target is not None:
            end = _cap_to(end, self._target)
        if isinstance(limit, ReadMaxRows):
            end = _rate_limit(start, end, limit.max_rows)
        return end

    def getDefaultReadLimit(self) -> ReadLimit:
        """Return maxOffsetsPerTrigger as a row limit, if set."""
        if self.max_per_trigger:
            return ReadMaxRows(self.max_per_trigger)
        return ReadAllAvailable()

    def prepareForTriggerAvailableNow(self) -> None:
        """Fix the target of an AvailableNow run at what the broker holds right now."""
        self._target = self._current({})

    def reportLatestOffset(self) -> dict | None:
        """Return the log end seen when the last batch was planned (query progress shows the lag)."""
        return self._latest

    # -- reading ------------------------------------------------------------

    def partitions(self, start: dict, end: dict) -> list[InputPartition]:
        """Return the batch's ranges (one per Kafka partition with new records), packed into tasks.

        A Spark task costs about 0.1 s on top of its records (Python workers, state, scheduling),
        so small batches are read by fewer tasks: ranges are packed into as many tasks as the
        records fill with ``minPartitionRecords`` each, at most one per Kafka partition.
        """
        ranges = []
        for topic, info in end.items():
            before = start.get(topic)
            same_log = before is not None and before["id"] == info["id"]
            for p, until in info["offsets"].items():
                since = int(before["offsets"].get(p, 0)) if same_log else 0
                if until > since:
                    ranges.append(Range(topic, int(p), since, int(until), info["id"]))
        return [InputPartition(tuple(task)) for task in pack(ranges, self.min_partition_records)]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        """Read a task's ranges as Arrow record batches, verifying offsets are contiguous."""
        for rng in partition.value:
            yield from read_range(self.bootstrap, rng, self.fail_on_data_loss)

    def commit(self, end: dict) -> None:
        """Offsets are kept in Spark's checkpoint; nothing to commit to the broker."""

    def stop(self) -> None:
        """Close the probe consumer."""
        if self._probe is not None:
            self._probe.close()
            self._probe = None


def pack(ranges: list[Range], min_records: int) -> list[list[Range]]:
    """Spread ranges over as many tasks as the records fill with min_records each (biggest first)."""
    total = sum(r.end - r.start for r in ranges)
    n = max(1, min(len(ranges), total // max(min_records, 1)))
    tasks: list[list[Range]] = [[] for _ in range(n)]
    sizes = [0] * n
    for rng in sorted(ranges, key=lambda r: r.start - r.end):
        emptiest = sizes.index(min(sizes))
        tasks[emptiest].append(rng)
        sizes[emptiest] += rng.end - rng.start
    return [task for task in tasks if task]


def _cap_to(end: dict, target: dict) -> dict:
    capped = {}
    for topic, info in end.items():
        goal = target.get(topic)
        if goal is None or goal["id"] != info["id"]:
            capped[topic] = info
            continue
        capped[topic] = {"id": info["id"], "offsets": {
            p: min(o, goal["offsets"].get(p, o)) for p, o in info["offsets"].items()}}
    return capped


def _rate_limit(start: dict, end: dict, max_rows: int) -> dict:
    """Cap the batch at max_rows, shared between partitions in proportion to their backlog."""
    backlog = {}
    for topic, info in end.items():
        before = start.get(topic)
        same = before is not None and before["id"] == info["id"]
        for p, until in info["offsets"].items():
            since = int(before["offsets"].get(p, 0)) if same else 0
            backlog[(topic, p)] = (since, until)
    total = sum(u - s for s, u in backlog.values())
    if total <= max_rows:
        return end
    limited = {t: {"id": i["id"], "offsets": dict(i["offsets"])} for t, i in end.items()}
    for (topic, p), (since, until) in backlog.items():
        share = (until - since) * max_rows // total
        limited[topic]["offsets"][p] = since + max(share, 1 if until > since else 0)
    return limited


def current_topic_id(bootstrap: str, topic: str) -> str | None:
    """Return the id of a topic as the broker knows it now, or None if it does not exist."""
    from confluent_kafka import KafkaException, TopicCollection
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        return str(admin.describe_topics(TopicCollection([topic]))[topic].result(timeout=10).topic_id)
    except KafkaException:
        return None


def read_range(bootstrap: str, rng: Range, fail_on_data_loss: bool = True, poll_timeout: float = 1.0,
               stall_s: float = 60.0) -> Iterator[pa.RecordBatch]:
    """Yield the records [rng.start, rng.end) of one partition, exactly, as record batches."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    if rng.topic_id and current_topic_id(bootstrap, rng.topic) != rng.topic_id:
        # A batch planned before the broker's log started over (Spark replays it after a
        # restart): its offsets point into a log that no longer exists.
        message = f"{rng}: the log these offsets belong to no longer exists"
        if fail_on_data_loss:
            raise DataLossError(message + " (set failOnDataLoss=false to continue)")
        log.warning("data loss: %s; skipping the range", message)
        return

    consumer = Consumer(_consumer_config(bootstrap, **{"fetch.wait.max.ms": 50}))
    tp = TopicPartition(rng.topic, rng.partition, rng.start)
    consumer.assign([tp])
    expected = rng.start
    cols: tuple[list, ...] = ([], [], [], [])  # key, value, offset, timestamp ms
    types: list[int] = []
    last_progress = time.monotonic()
    refetches = 0
    try:
        while expected < rng.end:
            messages = consumer.consume(num_messages=min(10_000, rng.end - expected),
                                        timeout=poll_timeout)
            progressed = False
            for msg in messages:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise RuntimeError(f"reading {rng}: {err}")
                offset = msg.offset()
                if offset < expected:
                    continue  # a re-fetch overlapping what we already have
                if offset > expected:
                    # The broker skipped records: fetch again from the first missing offset.
                    refetches += 1
                    if refetches > 20:
                        raise DataLossError(f"{rng}: offsets {expected}..{offset - 1} never returned")
                    log.warning("%s: got offset %d, expected %d; re-fetching", rng, offset, expected)
                    consumer.seek(TopicPartition(rng.topic, rng.partition, expected))
                    break
                if offset >= rng.end:
                    break
                ts_type, ts = msg.timestamp()
                cols[0].append(msg.key())
                cols[1].append(msg.value())
                cols[2].append(offset)
                cols[3].append(ts)
                types.append(ts_type)
                expected = offset + 1
                progressed = True
            if progressed:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > stall_s:
                raise DataLossError(f"{rng}: no record at offset {expected} after {stall_s:.0f}s")
            if len(cols[2]) >= BATCH_ROWS:
                yield _batch(rng, cols, types)
                cols, types = ([], [], [], []), []
        if cols[2]:
            yield _batch(rng, cols, types)
    finally:
        consumer.close()


def _batch(rng: Range, cols: tuple[list, ...], types: list[int]) -> pa.RecordBatch:
    n = len(cols[2])
    timestamps = pa.array([t * 1000 for t in cols[3]], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    return pa.RecordBatch.from_arrays([
        pa.array(cols[0], pa.binary()),
        pa.array(cols[1], pa.binary()),
        pa.array([rng.topic] * n, pa.string()),
        pa.array([rng.partition] * n, pa.int32()),
        pa.array(cols[2], pa.int64()),
        timestamps,
        pa.array(types, pa.int32()),
    ], schema=ARROW_SCHEMA)  # fmt: skip
