"""The machine's CPU at `make run`'s default load: the stack as `make run` leaves it, for a few minutes.

Usage: python -m bench.at_rest [--minutes 5] [--settle-minutes 2]

1. Baseline, same run: the machine's CPU busy share for 30 s before the stack starts (what else runs).
2. On a private data directory and free ports, ``up`` with the lifecycle, as `make run` does: every DAG
   unpaused, the streaming application submitted by its DAG, the default simulation (10 users a
   site, about 5 events/s). Once the application reports progress and the users run, ``--settle-minutes``
   pass (start-up's work: first batches, DAG parsing), then ``--minutes`` are measured.

Figures: the machine's busy share (all cores: 100 % is both cores busy), the CPU of each service
(its process tree; the streaming application, driver and Python workers, apart from the Airflow
scheduler that runs it) in % of one core, and the streaming application's micro-batches in the window
(per query: batches, events, busy seconds and where they went, from ``stream_progress``).
Targets (issue 39): the machine ≤ 35 % busy, the application ≤ 15 % of a core. Left out: the
hourly and reconciliation runs unless one falls in the window (they are counted if they do).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from datetime import UTC, datetime

import psutil

from bench.private import private_stack
from bench.progress_profile import query_batches
from bench.report import Figure, Plot, record
from bench.services import STREAMING, service_processes


def machine_busy(seconds: float) -> float:
    """The machine's busy share over the next `seconds` (0..1, all cores)."""
    first = psutil.cpu_times()
    time.sleep(seconds)
    return _busy(first, psutil.cpu_times())


def _busy(first, last) -> float:
    busy = [sum(t) - t.idle - getattr(t, "iowait", 0.0) for t in (first, last)]
    return (busy[1] - busy[0]) / max(1e-9, sum(last) - sum(first))


def cpu_seconds(stack) -> dict[str, dict[int, float]]:
    """CPU seconds so far of every process, by service and pid."""
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for name, processes in service_processes(stack).items():
        for proc in processes:
            try:
                times = proc.cpu_times()
                out[name][proc.pid] = times.user + times.system + times.children_user + times.children_system
            except psutil.Error:
                continue
    return out


def used(first: dict, last: dict, seconds: float) -> dict[str, float]:
    """% of one core per service between two samples (a process that ended before `last` is not counted;
    one started in between counts from its start)."""
    out = {}
    for name, pids in last.items():
        spent = sum(t - first.get(name, {}).get(pid, 0.0) for pid, t in pids.items())
        out[name] = round(100 * spent / seconds, 1)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def main() -> None:
    """Measure and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--settle-minutes", type=float, default=2.0)
    args = parser.parse_args()

    baseline = machine_busy(30)
    from clickstream.streaming.monitor import newest_progress

    with private_stack("cs-bench-at-rest-") as (settings, stack, _):
        stack.up(lifecycle=True)
        deadline = time.monotonic() + 600
        while newest_progress(settings) is None:
            if time.monotonic() > deadline:
                raise SystemExit("the streaming application reported no progress in 10 minutes")
            time.sleep(5)
        time.sleep(args.settle_minutes * 60)
        seconds = args.minutes * 60
        since, first, machine0 = datetime.now(UTC), cpu_seconds(stack), psutil.cpu_times()
        time.sleep(seconds)
        last, machine1 = cpu_seconds(stack), psutil.cpu_times()
        time.sleep(40)  # the progress recorder writes every 30 s
        per_query = query_batches(settings, since, datetime.now(UTC))
    busy = _busy(machine0, machine1)
    services = used(first, last, seconds)
    result = {"minutes": args.minutes, "machine_busy_pct": round(100 * busy, 1),
              "baseline_machine_busy_pct": round(100 * baseline, 1), "services_pct_of_a_core": services,
              "streaming_batches": per_query}
    print(json.dumps(result, indent=2))
    app = services.get(STREAMING, 0.0)
    record("at_rest", f"`make run`'s default load (10 users a site), {args.minutes:g} minutes",
           "python -m bench.at_rest", [
               Figure("machine CPU busy (both cores)", round(100 * busy, 1), "%", round(100 * baseline, 1),
                      "the machine before the stack started", "≤ 35 %", busy <= 0.35),
               Figure("streaming application CPU", app, "% of a core", target="≤ 15 %", met=app <= 15),
           ],
           Plot("CPU by service at rest", "% of one core", list(services), {"CPU": list(services.values())}),
           notes=f"Micro-batches in the window, per query: {json.dumps(per_query)}")


if __name__ == "__main__":
    main()
