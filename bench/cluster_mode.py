"""Local mode against cluster mode (HDFS + YARN): what `make run` and `make run CLUSTER=yarn` cost.

Usage: python -m bench.cluster_mode [--idle-s 60]

For each mode, on a private data directory and free ports, the stack as `make run` leaves it (the
lifecycle DAGs unpaused, the streaming application submitted by its DAG, the default simulation):

- cold start: `up` on an empty data directory until every service is healthy, then until the
  streaming application reports progress;
- idle memory after `--idle-s` seconds: RSS and PSS summed over every process of the stack
  (in cluster mode the YARN containers too: they are the NodeManager's children);
- the hourly job's wall time: `airflow tasks test clickstream_hourly hourly_job <hour>` in the stack's
  environment, the DAG's own SparkSubmitOperator (local[*], or a YARN application in cluster deploy
  mode with the jobs' environment from HDFS), end to end, JVM start included;
- warm start: `down`, then `up` again until every service is healthy and until the streaming
  application reports progress again.

Each mode runs in a process of its own (settings are read once per process). Left out: throughput
and freshness of the streaming application on YARN (bench.streaming_throughput, bench.freshness
measure local mode).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench.private import private_stack
from bench.report import Figure, Plot, record
from bench.stack_startup import tree_memory


def measure(mode: str, idle_s: float) -> dict:
    """Measure one mode in this process; return its figures."""
    os.environ["CLICKSTREAM_CLUSTER"] = mode
    from embedded import streaming_app
    from embedded.environment import VENV_BIN, stack_env

    figures: dict = {"mode": mode}
    with private_stack(f"cs-bench-{mode}-") as (settings, stack, _):
        t0 = time.perf_counter()
        stack.up(lifecycle=True)
        figures["cold_start_s"] = round(time.perf_counter() - t0, 1)
        assert streaming_app.wait_running(settings, 600), "the streaming application did not start"
        figures["cold_streaming_s"] = round(time.perf_counter() - t0, 1)
        time.sleep(idle_s)
        figures["idle"] = tree_memory(stack.recorded_pids()["supervisord"])
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # the DAGs start at this hour
        t0 = time.perf_counter()
        task = subprocess.run([str(VENV_BIN / "airflow"), "tasks", "test", "clickstream_hourly", "hourly_job",
                               hour.isoformat()], env=stack_env(settings), capture_output=True, text=True,
                              timeout=900, cwd=settings.repo_root)
        figures["hourly_task_s"] = round(time.perf_counter() - t0, 1)
        assert task.returncode == 0, task.stdout[-3000:] + task.stderr[-3000:]
        t0 = time.perf_counter()
        assert stack.down() == []
        figures["stop_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        stack.up(lifecycle=True)
        figures["warm_start_s"] = round(time.perf_counter() - t0, 1)
        assert streaming_app.wait_running(settings, 600), "the streaming application did not start again"
        figures["warm_streaming_s"] = round(time.perf_counter() - t0, 1)
    return figures


def main() -> None:
    """Measure both modes, each in a child process, and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle-s", type=float, default=60)
    parser.add_argument("--mode", choices=("local", "yarn"), help=argparse.SUPPRESS)  # one child's mode
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(measure(args.mode, args.idle_s)))
        return
    results = {}
    for mode in ("local", "yarn"):
        child = subprocess.run([sys.executable, "-m", "bench.cluster_mode", "--mode", mode,
                                "--idle-s", str(args.idle_s)], capture_output=True, text=True, timeout=3600)
        assert child.returncode == 0, child.stderr[-4000:]
        results[mode] = json.loads(child.stdout.strip().splitlines()[-1])
        print(json.dumps(results[mode]), flush=True)
    local, yarn = results["local"], results["yarn"]
    record("cluster_mode", "Local mode against cluster mode (HDFS + YARN)", "python -m bench.cluster_mode", [
        Figure("idle memory, cluster mode (RSS, every process)", yarn["idle"]["rss_gib"], "GiB",
               local["idle"]["rss_gib"], "local mode"),
        Figure("warm start to the streaming application's progress, cluster mode",
               yarn["warm_streaming_s"], "s", local["warm_streaming_s"], "local mode"),
        Figure("the hourly task (`airflow tasks test`), cluster mode", yarn["hourly_task_s"], "s",
               local["hourly_task_s"], "local mode"),
    ], Plot("Local and cluster mode", "seconds", ["cold start", "warm start", "hourly task", "stop"],
            {mode: [r["cold_streaming_s"], r["warm_streaming_s"], r["hourly_task_s"], r["stop_s"]]
             for mode, r in results.items()}),
        notes=f"local: {local}; yarn: {yarn}")


if __name__ == "__main__":
    main()
