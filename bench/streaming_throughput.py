"""Throughput of the whole streaming application, end to end, against the broker's own rate.

Usage: python -m bench.streaming_throughput [--events 10000000] [--pool 300000]

On a private broker (Apache Kafka, as `make run` starts it) and HiveServer2 (free ports, a
temporary data directory):

1. Baseline, same run: the broker's own produce-and-consume rate on this machine. ``--events``
   events are produced into a fresh 6-partition topic while a consumer in a second thread reads
   it; figure = events / (last event consumed − first event produced).
2. Target: the streaming application is started as the ``clickstream_streaming`` DAG submits it
   (``local[*]``, 1 GB driver, ``--max-offsets-per-trigger 200000``, default triggers) and is
   idle; then ``--events`` events are produced into the events topic *while it runs*. Figure =
   events / (time the last event is visible through HiveServer2 − first produce), where visible
   means ``SELECT count(*) FROM raw_events`` and the live view's per-minute ``events`` of every
   app, summed, both equal ``--events`` (polled every 5 s, so the figure is up to 5 s late).
   Target: ≥ 50,000 events/s on 2 cores.

Events are the simulator's generator output (load mode, collector-enriched) for ``--pool``
sessions' worth, repeated with fresh event ids, and retimed: event and receive times advance
50,000 per second from a minute before the run, as they would arrive at the target rate.
Produced as the collector produces (same linger, lz4, idempotence), keyed by session.

Printed with the figures: CPU seconds by process kind (driver JVM, Python workers, broker, the
producer itself) while the events are processed, and where each query's batch time went
(Spark's durationMs). Left out: the collectors' HTTP layer (bench.collector_throughput
measures it) and the batch jobs.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import psutil

from bench.private import broker_pid, private_stack
from bench.progress_profile import query_batches
from bench.report import Figure, Plot, record

TARGET_EPS = 50_000
DAG_ARGS = ("--max-offsets-per-trigger", "200000")  # dags/clickstream_streaming.py's default param


def stream_of_events(n: int, pool_size: int, begin: datetime) -> Iterator[tuple[bytes, bytes]]:
    """Yield n (key, JSON value) records: generated events cycled with new ids, 50,000/s of event time."""
    from bench.load import site_events

    pool = list(site_events(begin.date(), pool_size, "bench-streaming"))
    base_ms = int(begin.timestamp() * 1000)
    stamp_ms, stamp = -1, ""
    for i in range(n):
        ms = base_ms + i * 1000 // TARGET_EPS
        if ms != stamp_ms:
            stamp_ms = ms
            stamp = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        event = pool[i % len(pool)]
        value = orjson.dumps(event | {"event_id": f"{uuid.UUID(int=i)}", "event_time": stamp,
                                      "sent_time": stamp, "received_time": stamp})
        yield event["session_id"].encode(), value


def producer(bootstrap: str):
    """Return a producer configured as the collector's (simulators/sink.py)."""
    from confluent_kafka import Producer

    from simulators.sink import COMPRESSION, LINGER_MS

    return Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                     "linger.ms": LINGER_MS, "compression.type": COMPRESSION, "batch.num.messages": 10_000,
                     "queue.buffering.max.messages": 500_000, "queue.buffering.max.kbytes": 1_048_576})


def produce(bootstrap: str, topic: str, records: Iterator[tuple[bytes, bytes]]) -> tuple[float, float, int]:
    """Produce every record; return (first produce, last acknowledgement, count), wall-clock seconds."""
    out = producer(bootstrap)
    first, n = None, 0
    for key, value in records:
        while True:
            try:
                out.produce(topic, value, key)
                break
            except BufferError:
                out.poll(0.05)
        if first is None:
            first = time.time()
        n += 1
        if n % 1000 == 0:
            out.poll(0)
    if out.flush(300):
        raise RuntimeError("the broker did not acknowledge every event")
    return first, time.time(), n


class Consumer(threading.Thread):
    """Reads a topic from its start until it has seen `total` records; notes when the last arrived."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, total: int):
        super().__init__(daemon=True)
        from confluent_kafka import Consumer as KafkaConsumer
        from confluent_kafka import TopicPartition

        self.total, self.seen, self.last = total, 0, 0.0
        self.consumer = KafkaConsumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}",
                                       "enable.auto.commit": False, "fetch.max.bytes": 52_428_800})
        self.consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])

    def run(self) -> None:
        while self.seen < self.total:
            for msg in self.consumer.consume(10_000, timeout=1.0):
                if not msg.error():
                    self.seen += 1
            self.last = time.time()
        self.consumer.close()


class CpuSampler(threading.Thread):
    """Samples the CPU time that process trees spend from now on, by kind, until stopped."""

    def __init__(self, roots: dict[str, int]):
        super().__init__(daemon=True)
        self.roots = roots
        self.seen: dict[int, tuple[str, float]] = {}
        self.stop_event = threading.Event()
        self._sample()
        # What the processes running now had spent before counts nothing.
        self.before = {pid: cpu for pid, (_, cpu) in self.seen.items()}

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            self._sample()

    def _sample(self) -> None:
        for label, root in self.roots.items():
            try:
                procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for proc in procs:
                try:
                    t = proc.cpu_times()
                    name = proc.name()
                except psutil.NoSuchProcess:
                    continue
                kind = label if label != "application" else (
                    "driver JVM" if name == "java" else "Python workers" if "python" in name else name)
                self.seen[proc.pid] = (kind, t.user + t.system)

    def totals(self) -> dict[str, float]:
        """Stop and return CPU seconds by kind."""
        self.stop_event.set()
        self.join(5)
        self._sample()
        out: dict[str, float] = defaultdict(float)
        for pid, (kind, cpu) in self.seen.items():
            out[kind] += cpu - self.before.get(pid, 0.0)
        return {k: round(v, 1) for k, v in sorted(out.items()) if v >= 0.1}


def visible(settings, total: int) -> bool:
    """Return whether HiveServer2 shows all `total` events in raw_events and in the live view."""
    from clickstream.hive import execute

    (archived,), = execute(settings, "SELECT count(*) FROM raw_events")
    if archived < total:
        return False
    (live,), = execute(settings, "SELECT coalesce(sum(events), 0) FROM live_metrics_latest WHERE dim = 'app'")
    return live >= total


def batch_profile(settings) -> dict:
    """Where each query's batch time went, from the progress table (batches that read something)."""
    return query_batches(settings, with_data_only=True)


def main() -> None:
    """Measure the broker's rate, then the application's end to end; print and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--pool", type=int, default=300_000)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()

    from confluent_kafka.admin import AdminClient, NewTopic

    from bench.local_app import LocalApp
    from clickstream.topics import ensure_topics
    from embedded.polling import wait_for

    figures: dict = {"events": args.events}
    begin = datetime.now(UTC) - timedelta(minutes=1)
    with private_stack("cs-bench-streaming-", keep=args.keep) as (settings, stack, data_dir):
        stack.up(["broker", "hiveserver2"])
        ensure_topics(settings)
        broker = broker_pid(settings)

        # 1. Baseline: the broker's own produce-and-consume rate.
        topic = "bench.baseline"
        admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
        admin.create_topics([NewTopic(topic, settings.events_partitions, 1)])[topic].result(30)
        consumer = Consumer(settings.kafka_bootstrap, topic, settings.events_partitions, args.events)
        consumer.start()
        cpu = CpuSampler({"broker": broker})
        cpu.start()
        records = stream_of_events(args.events, args.pool, begin)
        first, acked, n = produce(settings.kafka_bootstrap, topic, records)
        consumer.join(600)
        figures["baseline"] = {"events_per_s": round(n / (consumer.last - first)),
                               "produce_events_per_s": round(n / (acked - first)),
                               "seconds": round(consumer.last - first, 1), "broker_cpu_s": cpu.totals()}
        print(json.dumps(figures, indent=2), flush=True)

        # 2. The application, running before the first event arrives, as under its DAG.
        app = LocalApp(settings, *DAG_ARGS, log=data_dir / "app.log", master="local[*]", driver_memory="1g")
        try:
            progress = data_dir / "warehouse" / "clickstream" / "stream_progress"
            wait_for(progress.exists, 300, 2, "the application running (first progress)")
            cpu = CpuSampler({"application": app.proc.pid, "broker": broker})
            cpu.start()
            me = psutil.Process()
            mine_before = sum(me.cpu_times()[:2])
            first, acked, n = produce(settings.kafka_bootstrap, settings.topic_events,
                                      stream_of_events(args.events, args.pool, begin))
            producer_cpu = sum(me.cpu_times()[:2]) - mine_before
            produced_at = time.time()
            wait_for(lambda: visible(settings, n), 3600, 5, f"all {n:,} events visible through HiveServer2")
            done = time.time()
            cpu_s = cpu.totals() | {"producer (this process)": round(producer_cpu, 1)}
            time.sleep(40)  # the progress recorder writes every 30 s: its last rows, for the profile
        finally:
            app.kill()
        figures["application"] = {
            "events_per_s": round(n / (done - first)), "seconds": round(done - first, 1),
            "produce_seconds": round(produced_at - first, 1),
            "visible_after_last_produce_s": round(done - produced_at, 1),
            "cpu_seconds": cpu_s, "profile": batch_profile(settings)}
    eps, base = figures["application"]["events_per_s"], figures["baseline"]["events_per_s"]
    figures["target_events_per_s"] = TARGET_EPS
    figures["meets_target"] = eps >= TARGET_EPS
    print(json.dumps(figures, indent=2, default=str))
    record("streaming_throughput", "Streaming application throughput, end to end",
           "python -m bench.streaming_throughput", [
        Figure(f"events/s, {n:,} events produced while it runs, to visible in HiveServer2", eps, "events/s",
               base, "the broker's own produce-and-consume rate", f"≥ {TARGET_EPS:,}", eps >= TARGET_EPS,
               "~10,000 events/s processed"),
    ], Plot("Streaming throughput", "events/s", ["broker produce + consume (baseline)", "whole application"],
            {"events/s": [base, eps]}), notes=f"CPU seconds while processing: {cpu_s}")  # fmt: skip


if __name__ == "__main__":
    main()
