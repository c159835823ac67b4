"""Start-up time and idle memory of the whole embedded stack.

Usage: python -m bench.stack_startup [--idle-s 60]

On a private data directory and free ports it measures, in one run:

- cold start: `up` on an empty data dir (initdb, Airflow migration, metastore creation);
- warm start: `down`, then `up` again on the same data dir (what a second `make run` costs)
  — the target is under 3 minutes;
- idle memory after `--idle-s` seconds: RSS summed over the whole process tree, and PSS
  (shared pages split between processes) — the target is RSS under 6 GiB.

The lifecycle (unpausing DAGs, starting the simulated users) is left out so the
stack stays idle.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import psutil

from bench.report import Figure, Plot, record
from clickstream.embedded.ports import free_ports

GIB = 2**30


def _memory(root_pid: int) -> dict:
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
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="cs-bench-startup-"))
    data_dir.chmod(0o755)
    ports = free_ports(8)
    os.environ.update({
        "CLICKSTREAM_DATA_DIR": str(data_dir), "CLICKSTREAM_BROKER_PORT": str(ports[0]),
        "CLICKSTREAM_HIVE_PORT": str(ports[1]), "CLICKSTREAM_AIRFLOW_PORT": str(ports[2]),
        "CLICKSTREAM_PG_PORT": str(ports[3]), "CLICKSTREAM_STREAMLIT_PORT": str(ports[4]),
        "CLICKSTREAM_SIM_PORTS": f"{ports[5]},{ports[6]},{ports[7]}",
    })  # fmt: skip
    from clickstream.embedded.stack import Stack
    from clickstream.settings import get_settings

    stack = Stack(get_settings())
    try:
        t0 = time.perf_counter()
        stack.up()
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        left = stack.down()
        stop = time.perf_counter() - t0
        assert not left, f"processes left after stop: {left}"
        t0 = time.perf_counter()
        stack.up()
        warm = time.perf_counter() - t0
        time.sleep(args.idle_s)
        memory = _memory(stack.recorded_pids()["supervisord"])
    finally:
        stack.down()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps({
        "cold_start_s": round(cold, 1),
        "warm_start_s": round(warm, 1),
        "warm_vs_cold": round(warm / cold, 2),
        "stop_s": round(stop, 1),
        "warm_start_target_s": 180,
        "idle_memory": memory,
        "idle_rss_target_gib": 6,
        "meets_targets": warm < 180 and memory["rss_gib"] < 6,
    }, indent=2))
    record("stack_startup", "Embedded stack start-up and footprint", "python -m bench.stack_startup", [
        Figure("warm start (`make run`, installed)", warm, "s", cold, "cold start, first run", "< 180 s",
               warm < 180),
        Figure("idle memory (RSS, all services)", memory["rss_gib"], "GiB", target="< 6 GiB",
               met=memory["rss_gib"] < 6),
        Figure("stop (`make stop`)", stop, "s"),
    ], Plot("Start-up time", "seconds", ["cold start", "warm start", "stop"],
            {"seconds": [round(cold, 1), round(warm, 1), round(stop, 1)]}))


if __name__ == "__main__":
    main()
