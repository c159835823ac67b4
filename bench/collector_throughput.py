"""Events accepted per second end to end (HTTP -> broker acked) by one collector process.

Usage: python -m bench.collector_throughput [--events 200000] [--clients 4]

Starts a private broker and the shop site (gunicorn, one worker, as `make run`
serves it) on free ports, pre-generates events with the simulator's own
generator (load mode: same code path, many visitors), then measures:

- batched: JSON arrays of 100 events per POST /collect (the target);
- baseline: one event per POST, in the same run.

The clock stops when the broker has acknowledged every accepted event. The
clients (4 processes) run on the same cores as the collector: their cost is in
the figure. Left out: the simulators' own pacing (the generator's rate is
printed beside it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import random
import time
from pathlib import Path

import orjson
import requests

from bench.private import private_stack
from bench.report import Figure, Plot, record

REPO = Path(__file__).resolve().parent.parent
TARGET = 50_000  # events/s on the 2-core machine, client included
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"


def generate(n: int, seed: str) -> list[dict]:
    """Generate n valid events of a settled day (all in the past) with the simulator's generator."""
    from bench.load import settled_day
    from simulators.generate import day_sessions
    from simulators.sites import SITES

    day = settled_day()
    rng = random.Random(seed)
    return [e for b in day_sessions(SITES["shop"], day, n, rng, malformed_share=0) for e in b.events]


def _client(port: int, bodies: list[bytes], out: mp.Queue) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "User-Agent": UA}
    accepted = retries = 0
    for body in bodies:
        while True:
            conn.request("POST", "/collect", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status == 200:
                accepted += orjson.loads(data)["accepted"]
                break
            if resp.status != 503:
                raise RuntimeError(f"collector answered {resp.status}: {data[:200]!r}")
            retries += 1
            time.sleep(0.05)
    out.put((accepted, retries))


def load(port: int, bodies: list[bytes], clients: int) -> dict:
    """POST all bodies from `clients` processes; wait for broker acks; return the figures."""
    out: mp.Queue = mp.Queue()
    shares = [bodies[i::clients] for i in range(clients)]
    procs = [mp.Process(target=_client, args=(port, share, out)) for share in shares]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    http_done = time.perf_counter() - start
    flushed = requests.post(f"http://127.0.0.1:{port}/simulation/flush", timeout=120).json()
    elapsed = time.perf_counter() - start
    if flushed["outstanding"]:
        raise RuntimeError(f"events still unacknowledged: {flushed}")
    accepted = sum(a for a, _ in results)
    return {"requests": len(bodies), "events_accepted": accepted,
            "retries_503": sum(r for _, r in results), "seconds": round(elapsed, 2),
            "seconds_http": round(http_done, 2), "events_per_s": round(accepted / elapsed)}


def main() -> None:
    """Run both measurements on a private stack and print them."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--baseline-events", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    t0 = time.perf_counter()
    events = generate(args.events + args.baseline_events, "bench")
    gen_s = time.perf_counter() - t0
    batched = [orjson.dumps(events[i:i + 100]) for i in range(0, args.events, 100)]
    single = [orjson.dumps([e]) for e in events[args.events:]]

    # make run's settings (the producer's batching and compression among them); only the ports are private.
    with private_stack("cs-bench-collector-") as (settings, stack, _):
        stack.up(["site-shop"])
        port = settings.sites["shop"]
        figures = {
            "generator_events_per_s": round(len(events) / gen_s),
            "baseline_1_event_per_request": load(port, single, args.clients),
            "batched_100_events_per_request": load(port, batched, args.clients),
        }
    b = figures["batched_100_events_per_request"]["events_per_s"]
    s = figures["baseline_1_event_per_request"]["events_per_s"]
    figures["speedup_vs_baseline"] = round(b / s, 1)
    figures["target_events_per_s"] = TARGET
    figures["meets_target"] = b >= TARGET
    print(json.dumps(figures, indent=2))
    record("collector_throughput", "Collector throughput (POST /collect)",
           "python -m bench.collector_throughput", [
        Figure("events/s, 100 events per request", b, "events/s", s, "1 event per request", f"≥ {TARGET:,}",
               b >= TARGET, "~1,000 events/s generated"),
        Figure("generator (simulated users)", figures["generator_events_per_s"], "events/s"),
    ], Plot("Collector throughput", "events/s", ["1 event/request", "100 events/request"],
            {"events/s": [s, b]}))


if __name__ == "__main__":
    main()
