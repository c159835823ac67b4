"""Sustained throughput of the streaming application, and freshness of the live metrics.

Usage: python -m bench.streaming_throughput [--events 1000000] [--rate 1000] [--seconds 60]

On a private broker and HiveServer2 (free ports, temporary data directory):

1. Loads ``--events`` collector-enriched events of the three simulated sites
   (the simulator's generator, load mode) into the events topic, timed as
   they would arrive at 50,000 events/s (event time = receive time).
2. Baseline, same run: the application with the ingest query only (raw and
   bad events), over the whole backlog.
3. Target: the whole application — ingest, live metrics with alerts, active
   users, navigation paths — over the same backlog, from a fresh checkpoint
   and warehouse. Throughput is events / (last batch end − first batch start),
   by the application's own progress table; the target is ≥ 50,000 events/s.
4. Freshness, on the running application: events produced at ``--rate`` per
   second for ``--seconds``, with receive time = send time. An event is fresh
   once a live_metrics file counts it (its app's window ``events`` reaches the
   event's rank in that window); freshness = that file's time − receive time.
   Target: p95 ≤ 5 s at 1,000 events/s.

The profile printed with the figures: where each query's batch time goes
(Spark's durationMs), and CPU seconds by process (driver JVM vs Python
workers vs broker), sampled while the backlog is processed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psutil

from bench.private import broker_pid, private_environment
from bench.report import Figure, Plot, record

TARGET_EPS = 50_000
TARGET_P95_S = 5.0


def produce(bootstrap: str, topic: str, events, rate: float | None = None) -> list[tuple[float, dict]]:
    """Produce events keyed by session, batched as the collector does; return (send time, event) if paced."""
    from confluent_kafka import Producer

    from simulators.sink import LINGER_MS

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": LINGER_MS, "batch.num.messages": 10000,
                         "queue.buffering.max.messages": 500000})
    sent: list[tuple[float, dict]] = []
    start = time.time()
    for i, event in enumerate(events):
        if rate:
            delay = start + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            sent.append((time.time(), event))
        while True:
            try:
                producer.produce(topic, key=event["session_id"].encode(), value=orjson.dumps(event))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("broker did not acknowledge every event")
    return sent


class CpuSampler(threading.Thread):
    """Samples the CPU time of a process tree by process kind until stopped."""

    def __init__(self, root_pid: int, broker_pid: int | None):
        super().__init__(daemon=True)
        self.root, self.broker = root_pid, broker_pid
        self.seen: dict[int, tuple[str, float]] = {}
        self.stop_event = threading.Event()

    def _kind(self, proc: psutil.Process) -> str:
        name = proc.name()
        return "driver JVM" if name == "java" else "Python workers" if "python" in name else name

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            procs = []
            try:
                procs = [psutil.Process(self.root), *psutil.Process(self.root).children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
            if self.broker:
                procs.append(psutil.Process(self.broker))
            for proc in procs:
                try:
                    t = proc.cpu_times()
                    kind = "broker" if proc.pid == self.broker else self._kind(proc)
                    self.seen[proc.pid] = (kind, t.user + t.system)
                except psutil.NoSuchProcess:
                    continue

    def totals(self) -> dict[str, float]:
        self.stop_event.set()
        self.join(5)
        out: dict[str, float] = defaultdict(float)
        for kind, cpu in self.seen.values():
            out[kind] += cpu
        return {k: round(v, 1) for k, v in sorted(out.items())}


def run_backlog(settings, name: str, total: int, log_dir: Path, *args: str) -> dict:
    """Run the application over the loaded topic until every query has seen it all; return figures."""
    from clickstream.streaming.local import LocalApp, processed_rows, read_progress, wait_for

    app = LocalApp(settings, "--max-offsets-per-trigger", "100000", "--progress-flush-seconds", "2",
                   *args, log=log_dir / f"{name}.log")
    broker = broker_pid(settings)
    cpu = CpuSampler(app.proc.pid, broker)
    cpu.start()
    queries = ["ingest"] if "--no-live" in args else ["ingest", "live_metrics", "live_active_users",
                                                       "live_paths"]
    try:
        # Ingest and the live metrics must see every event; then wait until no query moves.
        wait_for(lambda: all(processed_rows(settings).get(q, 0) >= total for q in queries[:2]), 1800,
                 what=f"{name}: ingest and live metrics through {total} events")
        seen: list[dict] = []
        wait_for(lambda: seen.append(processed_rows(settings)) or seen[-3:].count(seen[-1]) == 3, 600,
                 what=f"{name}: every query idle")
        rows = [r for r in read_progress(settings) if not r["idle"] and r["input_rows"]]
    except BaseException:
        app.kill()
        raise
    cpu_s = cpu.totals()
    first = min(r["ts"] for r in rows if r["query"] == "ingest")
    last = max(r["ts"] + timedelta(milliseconds=r["batch_ms"]) for r in rows)
    seconds = (last - first).total_seconds()
    profile = {}
    for query in queries:
        mine = [r for r in rows if r["query"] == query]
        parts: dict[str, float] = defaultdict(float)
        for r in mine:
            for part, ms in json.loads(r["durations"]).items():
                if part != "triggerExecution":
                    parts[part] += ms / 1000
        profile[query] = {"batches": len(mine), "busy_s": round(sum(r["batch_ms"] for r in mine) / 1000, 1),
                          "top_parts_s": dict(sorted(((k, round(v, 1)) for k, v in parts.items()),
                                                     key=lambda kv: -kv[1])[:4])}
    return {"app": app, "events": total, "seconds": round(seconds, 1),
            "events_per_s": round(total / seconds), "cpu_seconds": cpu_s, "profile": profile}


def freshness(settings, sent: list[tuple[float, dict]]) -> dict:
    """Return freshness percentiles: when a live_metrics file first counted each sent event."""
    import pyarrow.parquet as pq

    rank: dict[tuple[str, str], list[float]] = defaultdict(list)
    for sent_at, event in sent:
        rank[(event["app_id"], event["event_time"][:16])].append(sent_at)
    versions: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    root = Path(settings.table_path("live_metrics").removeprefix("file://"))
    for path in root.glob("dt=*/batch-*.parquet"):
        mtime = path.stat().st_mtime
        table = pq.read_table(path, columns=["window_start", "app_id", "dim", "events"]).to_pylist()
        for row in table:
            if row["dim"] == "app":
                key = (row["app_id"], row["window_start"].strftime("%Y-%m-%dT%H:%M"))
                if key in rank:
                    versions[key].append((mtime, row["events"]))
    lags = []
    missing = 0
    for key, times in rank.items():
        seen = sorted(versions.get(key, []))
        for k, sent_at in enumerate(sorted(times), start=1):
            visible = next((t for t, count in seen if count >= k), None)
            if visible is None:
                missing += 1
            else:
                lags.append(visible - sent_at)
    lags.sort()
    q = statistics.quantiles(lags, n=100)
    return {"events": len(sent), "not_visible": missing, "p50_s": round(q[49], 2),
            "p95_s": round(q[94], 2), "max_s": round(lags[-1], 2)}


def main() -> None:
    """Load the topic, measure baseline and target throughput, then freshness; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()

    data_dir = private_environment("cs-bench-streaming-")
    from clickstream.embedded.stack import Stack
    from clickstream.hive import execute
    from clickstream.settings import get_settings
    from simulators.load import retimed, site_events

    settings = get_settings()
    stack = Stack(settings)
    figures: dict = {}
    try:
        stack.up(["broker", "hiveserver2"])
        # The backlog arrives as it would at the target rate: event and receive times advance
        # 50,000 per second (a day of event time at once would open every window of the day).
        begin = datetime.now(UTC) - timedelta(seconds=args.events / TARGET_EPS + 60)
        t0 = time.perf_counter()
        events = list(retimed(site_events(begin.date(), args.events, "bench-streaming"), begin, TARGET_EPS))
        figures["generated_events"] = len(events)
        figures["generate_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        produce(settings.kafka_bootstrap, settings.topic_events, events)
        figures["produce_events_per_s"] = round(len(events) / (time.perf_counter() - t0))
        del events

        execute(settings, "CREATE DATABASE IF NOT EXISTS clickstream_baseline")
        base = dataclasses.replace(settings, warehouse_uri=(data_dir / "warehouse-baseline").as_uri(),
                                   hive_database="clickstream_baseline")
        baseline = run_backlog(base, "baseline", figures["generated_events"], data_dir, "--no-live")
        baseline.pop("app").kill()
        figures["baseline_ingest_only"] = baseline

        full = run_backlog(settings, "full", figures["generated_events"], data_dir)
        app = full.pop("app")
        figures["full_application"] = full
        try:
            start = datetime.now(UTC) + timedelta(seconds=1)
            live = list(site_events(datetime.now(UTC).date(), int(args.rate * args.seconds) + 10, "fresh"))
            paced = retimed(iter(live[: int(args.rate * args.seconds)]), start, args.rate)
            time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
            sent = produce(settings.kafka_bootstrap, settings.topic_events, paced, rate=args.rate)
            time.sleep(20)  # let the last events reach the live tables
            figures["freshness_at_rate"] = {"rate_per_s": args.rate, **freshness(settings, sent)}
        finally:
            app.kill()
    finally:
        stack.down()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    eps = figures["full_application"]["events_per_s"]
    figures["target_events_per_s"] = TARGET_EPS
    figures["meets_throughput_target"] = eps >= TARGET_EPS
    figures["full_vs_baseline"] = round(eps / figures["baseline_ingest_only"]["events_per_s"], 2)
    figures["target_freshness_p95_s"] = TARGET_P95_S
    figures["meets_freshness_target"] = figures["freshness_at_rate"]["p95_s"] <= TARGET_P95_S
    print(json.dumps(figures, indent=2, default=str))
    base_eps = figures["baseline_ingest_only"]["events_per_s"]
    p95 = figures["freshness_at_rate"]["p95_s"]
    record("streaming_throughput", "Streaming job throughput and freshness",
           "python -m bench.streaming_throughput", [
        Figure("events/s, raw archive + live metrics", eps, "events/s", base_eps, "ingest only",
               f"≥ {TARGET_EPS:,}", eps >= TARGET_EPS, "~10,000 events/s processed"),
        Figure(f"freshness p95 at {args.rate:,.0f} events/s", p95, "s", target=f"≤ {TARGET_P95_S:g} s",
               met=p95 <= TARGET_P95_S),
    ], Plot("Streaming throughput", "events/s", ["ingest only (baseline)", "full application"],
            {"events/s": [base_eps, eps]}))  # fmt: skip


if __name__ == "__main__":
    main()
