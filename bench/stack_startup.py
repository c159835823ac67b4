"""Start-up time and footprint of the whole embedded stack, as `make run` leaves it running.

Usage: python -m bench.stack_startup [--idle-s 60]

On a private data directory and free ports, with the lifecycle `make run` starts (the DAGs
unpaused, the streaming application submitted by its DAG, the default simulation of 10 users
per site), it measures in one run:

- cold start: `up` on an empty data dir (initdb, Kafka log format, Airflow migration, metastore);
- then `--cycles` times: stop (`down`, what `make stop` costs: the streaming application stopped
  between micro-batches, then every service; target ≤ 20 s), and warm start (`up` again on the same
  data dir, what a second `make run` costs; under 3 minutes) and, from the same moment, until an
  event received after it is in raw_events through HiveServer2 (the platform live again; target
  ≤ 60 s). A client posts an event every half second from when the shop's collector answers, as a
  visitor's browser would (the simulated users start later, through a DAG run). The slowest cycle
  is the figure; every cycle is printed with its timeline (seconds from the start to each service
  healthy, the client's first event accepted, the streaming task's start in Airflow, the
  application's main(), its Spark session, its first ingest batch);
- footprint after `--idle-s` seconds more: RSS summed over the whole process tree (broker,
  streaming application and its Python workers, simulators included), and PSS (shared pages
  split between processes) — the target is RSS under 6 GiB.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from bench.private import private_stack
from bench.report import Figure, Plot, record

GIB = 2**30
STOP_TARGET_S = 20
WARM_TARGET_S = 180
LIVE_TARGET_S = 60


def _archived_since(settings, since: datetime, timeout: float) -> None:
    """Wait until raw_events, through HiveServer2, holds an event the collectors received after `since`."""
    from clickstream.hive import execute
    from embedded.polling import wait_for

    def archived() -> bool:
        try:
            (n,), = execute(settings, f"SELECT count(*) FROM raw_events WHERE dt >= '{since:%Y-%m-%d}' "
                                      f"AND received_ts > '{since:%Y-%m-%d %H:%M:%S}'")
        except Exception:  # noqa: BLE001 - the table may not exist yet
            return False
        return n > 0

    wait_for(archived, timeout, 2, f"an event received after {since:%H:%M:%S} in raw_events")


class Probe(threading.Thread):
    """A client of the shop site: posts a fresh event every half second, from when its collector answers.

    Like a visitor whose browser keeps sending while the site restarts: "live again" is when such an
    event is archived. (The simulated users start later: Airflow starts them with a DAG run.)
    """

    def __init__(self, url: str):
        super().__init__(daemon=True)
        import random

        from simulators.generate import day_sessions
        from simulators.sites import SITES

        self.url = url
        sessions = day_sessions(SITES["shop"], datetime.now(UTC).date(), 5, random.Random(1),
                                malformed_share=0)
        self.template = next(iter(sessions)).events[0]
        self.stop = threading.Event()
        self.first_accepted: float | None = None

    def run(self) -> None:
        import uuid

        import orjson
        import requests

        while not self.stop.wait(0.5):
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            event = self.template | {"event_id": str(uuid.uuid4()), "event_time": now, "sent_time": now}
            try:
                resp = requests.post(f"{self.url}/collect", data=orjson.dumps([event]), timeout=5,
                                     headers={"Content-Type": "application/json"})
            except requests.RequestException:
                continue
            if resp.status_code == 200 and self.first_accepted is None:
                self.first_accepted = time.time()


def _timeline(stack, since: datetime) -> dict[str, float]:
    """Where a start's time went: seconds from `since` to each step (services, Airflow, the application)."""
    from clickstream.streaming import monitor
    from embedded.environment import stack_api

    s, t0 = stack.settings, since.timestamp()
    steps = {f"{name} healthy": at - t0 for name, at in stack.healthy_at.items()}
    try:
        run = stack_api(s).dag_runs("clickstream_streaming", limit=1)[0]
        ti = stack_api(s).task_instance("clickstream_streaming", run["dag_run_id"], "run_streaming_app")
        steps["streaming task started (Airflow)"] = datetime.fromisoformat(ti["start_date"]).timestamp() - t0
    except Exception as exc:  # noqa: BLE001 - a timeline is best effort; say what is missing
        steps[f"streaming task: {type(exc).__name__}"] = float("nan")
    app = monitor.application(s) or {}
    if app.get("started"):
        steps["application main() started"] = datetime.fromisoformat(app["started"]).timestamp() - t0
    record = Path(s.streaming_control_uri.removeprefix("file://")) / "application.json"
    if record.exists():
        steps["application's Spark session up"] = record.stat().st_mtime - t0
    ingest = [r["ts"] for r in monitor.read_progress(s)
              if r["query"] == "ingest" and r["ts"].replace(tzinfo=UTC) > since]
    if ingest:
        steps["first ingest batch reported"] = min(ingest).replace(tzinfo=UTC).timestamp() - t0
    return {k: round(v, 1) for k, v in sorted(steps.items(), key=lambda kv: kv[1])}


def tree_memory(root_pid: int) -> dict:
    """RSS and PSS summed over a process tree (supervisord and everything below it), the largest by name."""
    root = psutil.Process(root_pid)
    procs = [root, *root.children(recursive=True)]
    rss = pss = 0
    by_service: dict[str, int] = {}
    for proc in procs:
        try:
            info = proc.memory_full_info()
            name = " ".join(proc.cmdline()[:3])[-60:]
        except psutil.Error:  # exited or a zombie: holds no memory
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
        by_service[name] = by_service.get(name, 0) + info.rss
    top = sorted(by_service.items(), key=lambda kv: -kv[1])[:6]
    return {"processes": len(procs), "rss_gib": round(rss / GIB, 2), "pss_gib": round(pss / GIB, 2),
            "largest_rss_mib": {k: round(v / 2**20) for k, v in top}}


def main() -> None:
    """Measure and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle-s", type=float, default=60)
    parser.add_argument("--cycles", type=int, default=3, help="stop / start cycles after the cold start")
    args = parser.parse_args()

    with private_stack("cs-bench-startup-") as (settings, stack, _):
        t0 = time.perf_counter()
        stack.up(lifecycle=True)
        cold = time.perf_counter() - t0
        _archived_since(settings, datetime.now(UTC) - timedelta(hours=1), 600)
        stops, warms, lives, timelines, stop_steps = [], [], [], [], []
        for _ in range(args.cycles):
            t0 = time.perf_counter()
            left = stack.down()
            stops.append(time.perf_counter() - t0)
            steps_of_stop = dict(stack.stop_steps)
            assert not left, f"processes left after stop: {left}"
            t0, since = time.perf_counter(), datetime.now(UTC)
            probe = Probe(f"http://127.0.0.1:{settings.sites['shop']}")
            probe.start()
            try:
                stack.up(lifecycle=True)
                warms.append(time.perf_counter() - t0)
                _archived_since(settings, since, 600)
                lives.append(time.perf_counter() - t0)
            finally:
                probe.stop.set()
            timelines.append(_timeline(stack, since))
            if probe.first_accepted:
                accepted = round(probe.first_accepted - since.timestamp(), 1)
                timelines[-1]["a client's first event accepted"] = accepted
            stop_steps.append(steps_of_stop)
            print(f"cycle {len(lives)}: stop {stops[-1]:.1f} s {stop_steps[-1]}, up {warms[-1]:.1f} s, "
                  f"live {lives[-1]:.1f} s; timeline (s): {timelines[-1]}", flush=True)
        stop, warm, live = max(stops), max(warms), max(lives)
        time.sleep(args.idle_s)
        memory = tree_memory(stack.recorded_pids()["supervisord"])
    print(json.dumps({
        "cold_start_s": round(cold, 1),
        "stop_s": [round(v, 1) for v in stops],
        "warm_start_s": [round(v, 1) for v in warms],
        "live_again_s": [round(v, 1) for v in lives],
        "timelines_s": timelines,
        "stop_steps_s": stop_steps,
        "targets_s": {"stop": STOP_TARGET_S, "warm_start": WARM_TARGET_S, "live_again": LIVE_TARGET_S},
        "idle_memory": memory,
        "idle_rss_target_gib": 6,
    }, indent=2))
    cycles = f"the slowest of {args.cycles} stop / start cycles"
    each = {name: [round(v, 1) for v in values]
            for name, values in (("stop", stops), ("warm start", warms), ("live again", lives))}
    record("stack_startup", "Embedded stack start-up, restart and footprint",
           "python -m bench.stack_startup", [
        Figure(f"warm start (`make run`, installed), {cycles}", warm, "s", cold, "cold start, first run",
               f"< {WARM_TARGET_S} s", warm < WARM_TARGET_S),
        Figure(f"`make run` to a client's new events in raw_events, {cycles}", live, "s", warm,
               "warm start (services healthy)", f"≤ {LIVE_TARGET_S} s", live <= LIVE_TARGET_S),
        Figure(f"`make stop`, {cycles}", stop, "s", target=f"≤ {STOP_TARGET_S} s", met=stop <= STOP_TARGET_S),
        Figure("idle memory (RSS, all services)", memory["rss_gib"], "GiB", target="< 6 GiB",
               met=memory["rss_gib"] < 6),
    ], Plot("Start-up time", "seconds", ["cold start", "warm start", "live again", "stop"],
            {"seconds": [round(cold, 1), round(warm, 1), round(live, 1), round(stop, 1)]}),
        notes=f"Per cycle (s): {each}. Where the slowest start went (s from `make run`): "
              f"{timelines[lives.index(live)]}; the slowest stop: {stop_steps[stops.index(stop)]}. "
              f"Largest processes after {args.idle_s:g} s "
              f"(RSS MiB): {memory['largest_rss_mib']}")


if __name__ == "__main__":
    main()
