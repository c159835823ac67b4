"""The embedded broker's fetch cost, by how many record batches it holds.

Usage: python -m bench.broker_fetch_cost [--levels 5000,20000,40000,80000] [--seconds 20]

Tansu's memory storage keeps each record batch as one object and lists every
object of a partition on each fetch below the high watermark
(docs/streaming.md, "The embedded broker's fetch cost"). On a private broker
this benchmark fills the events topic with one-event record batches up to each
level, then for ``--seconds`` drives the streaming job's Kafka source as the
application does — one reader planning and reading a micro-batch every second
(the live metrics), one every five (ingest) — while a trickle of 15 requests a
second goes on. It prints, per level, the end-offset probe's latency, the
reads' latency and the broker's CPU. The baseline is the first (smallest)
level of the same run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import threading
import time

import psutil

from bench.private import broker_pid, private_environment
from bench.report import Figure, Plot, record

PAYLOAD = b"x" * 600  # about the size of a collector-enriched event


def drive(bootstrap: str, topic: str, every: float, seconds: float) -> dict[str, float]:
    """Plan and read micro-batches like one streaming query; return median/max probe and median read."""
    from pyspark.sql.datasource import ReadAllAvailable

    from clickstream.streaming.kafka_source import KafkaStreamReader, read_range

    reader = KafkaStreamReader({"kafka.bootstrap.servers": bootstrap, "subscribe": topic,
                                "startingOffsets": "latest"})
    start = reader.initialOffset()
    probes, reads = [], []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        end = reader.latestOffset(start, ReadAllAvailable())
        probes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for task in reader.partitions(start, end):
            for rng in task.value:
                for _ in read_range(bootstrap, rng):
                    pass
        reads.append(time.perf_counter() - t0)
        start = end
        time.sleep(every)
    reader.stop()
    return {"probe_median_ms": round(statistics.median(probes) * 1000),
            "probe_max_ms": round(max(probes) * 1000),
            "read_median_ms": round(statistics.median(reads) * 1000)}


def drive_both(bootstrap: str, topic: str, seconds: float) -> dict[str, dict]:
    """Run the two topic readers of the application side by side: every 1 s and every 5 s."""
    results: dict[str, dict] = {}

    def one(name: str, every: float) -> None:
        results[name] = drive(bootstrap, topic, every, seconds)

    threads = [threading.Thread(target=one, args=item) for item in (("every 1 s", 1.0), ("every 5 s", 5.0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def trickle(bootstrap: str, topic: str, stop: threading.Event) -> None:
    """Send 15 small requests' worth of events a second, as live simulated users do."""
    from confluent_kafka import Producer

    from simulators.sink import LINGER_MS

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": LINGER_MS})
    i = 0
    while not stop.is_set():
        for _ in range(5):
            producer.produce(topic, key=str(i).encode(), value=PAYLOAD)
        i += 1
        producer.poll(0)
        time.sleep(1 / 15)
    producer.flush(10)


def main() -> None:
    """Fill the topic level by level and measure the source's probe and reads at each level."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="5000,20000,40000,80000",
                        help="record batches held at each measurement, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    levels = sorted(int(x) for x in args.levels.split(","))

    data_dir = private_environment("cs-bench-broker-")
    from confluent_kafka import Producer

    from clickstream.embedded.stack import Stack
    from clickstream.settings import get_settings

    settings = get_settings()
    stack = Stack(settings)
    rows = []
    try:
        stack.up(["broker"])
        broker = psutil.Process(broker_pid(settings))
        topic, bootstrap = settings.topic_events, settings.kafka_bootstrap
        # One event per record batch: what a low-rate producer (one request at a time) leaves.
        filler = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "batch.num.messages": 1})
        sent = 0
        for level in levels:
            while sent < level:
                filler.produce(topic, key=str(sent).encode(), value=PAYLOAD)
                sent += 1
                if sent % 200 == 0:
                    filler.flush(60)
            if filler.flush(120):
                raise RuntimeError("broker did not acknowledge every event")
            stop = threading.Event()
            background = threading.Thread(target=trickle, args=(bootstrap, topic, stop), daemon=True)
            background.start()
            cpu0, t0 = sum(broker.cpu_times()[:2]), time.monotonic()
            results = drive_both(bootstrap, topic, args.seconds)
            cores = (sum(broker.cpu_times()[:2]) - cpu0) / (time.monotonic() - t0)
            stop.set()
            background.join()
            row = {"record_batches": level, **results["every 1 s"],
                   "probe_median_ms_5s_reader": results["every 5 s"]["probe_median_ms"],
                   "broker_cores": round(cores, 2)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        stack.down()
        shutil.rmtree(data_dir, ignore_errors=True)
    first, last = rows[0], rows[-1]
    record("broker_fetch_cost", "Embedded broker: fetch cost by record batches held",
           "python -m bench.broker_fetch_cost", [
        Figure(f"end-offset probe at {last['record_batches']:,} batches", last["probe_median_ms"], "ms",
               first["probe_median_ms"], f"at {first['record_batches']:,} batches"),
        Figure(f"broker CPU at {last['record_batches']:,} batches", last["broker_cores"], "cores",
               first["broker_cores"], f"at {first['record_batches']:,} batches"),
    ], Plot("Probe latency by record batches held", "ms", [f"{r['record_batches']:,}" for r in rows],
            {"probe median": [r["probe_median_ms"] for r in rows],
             "read median": [r["read_median_ms"] for r in rows]}, log=True))  # fmt: skip


if __name__ == "__main__":
    main()
