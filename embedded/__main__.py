"""Command line of the embedded stack.

Usage:
    python -m embedded up        # start (idempotent) and print the URLs
    python -m embedded status    # state and health of every service
    python -m embedded down      # stop every process the stack started
    python -m embedded airflow dags list   # any Airflow CLI command
    python -m embedded beeline [ARGS]      # beeline on the stack's HiveServer2 (runs $SQL if set)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from clickstream.settings import get_settings
from embedded import streaming_app
from embedded.environment import VENV_BIN, stack_env
from embedded.lock import StackBusy, StackLock, describe
from embedded.stack import ServiceStatus, Stack, StackError
from ops import cluster_health

STREAMING_APP = "streaming-app"
STREAMING_START_S = 180.0
LOCK_WAIT_S = 900.0  # a `make run` waits this long for the stack to be its own (its own start takes ≤ 5 min)


def _row(name: str, width: int, state: str, healthy: bool, pid: int | None, text: str) -> None:
    health = "healthy" if healthy else "UNHEALTHY"
    print(f"  {name:<{width}}  {state:<8} {health:<9} {f'pid {pid}' if pid else '':<10} {text}")


def _print_status(stack: Stack, only: list[str] | None = None) -> bool:
    """Print each service's line, then the streaming application's (all services only); return all up."""
    rows = stack.status(only)
    width = max(len(r.name) for r in [*rows, ServiceStatus(STREAMING_APP, "", None, False, None)])
    for r in rows:
        _row(r.name, width, r.state, r.healthy, r.pid, r.url or "")
    healthy = all(r.healthy for r in rows)
    if stack.settings.on_yarn and any(r.name.startswith(("hdfs-", "yarn-")) for r in rows):
        # The cluster as its masters see it: a DataNode or NodeManager gone quiet, blocks under-replicated.
        for name, health in (("HDFS", cluster_health.hdfs_health(stack.settings)),
                             ("YARN", cluster_health.yarn_health(stack.settings))):
            _row(name, width, "UP" if health.reachable else "DOWN", health.healthy, None, health.line())
            healthy = healthy and health.healthy
    if only is None:
        app = streaming_app.status(stack.settings)
        _row(STREAMING_APP, width, "RUNNING" if app.running else "STOPPED", app.running, app.pid, app.line())
        healthy = healthy and app.running
    return healthy


def cmd_up(stack: Stack, only: list[str] | None) -> int:
    """Start the stack and print where everything is."""
    already = stack.supervisor_running()
    t0 = time.monotonic()
    try:
        stack.up(only, lifecycle=True)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"logs: {stack.settings.log_dir}", file=sys.stderr)
        return 1
    verb = "already running; checked" if already else "started"
    print(f"Embedded clickstream stack {verb} in {time.monotonic() - t0:.0f}s:")
    if only is None:
        # Airflow's continuous DAG submits the streaming application: the platform is live once it runs.
        started = streaming_app.wait_running(stack.settings, STREAMING_START_S)
        if not started:
            print(f"error: the streaming application has not reported progress {STREAMING_START_S:.0f} s "
                  "after the services started: see the clickstream_streaming DAG's task log in Airflow",
                  file=sys.stderr)
    healthy = _print_status(stack, only)
    password = stack.admin_password()
    if password:
        print(f"\nAirflow login: admin / {password}  (generated; stored in "
              f"{stack.settings.airflow_home / 'passwords.json'})")
    print(f"Logs: {stack.settings.log_dir}    Stop: make stop")
    return 0 if healthy else 1


def cmd_status(stack: Stack, only: list[str] | None) -> int:
    """Print state and health of every service and of the streaming application; exit 1 unless all are up."""
    busy = StackLock(stack.settings.run_dir).holder()
    if busy:
        print(f"In progress: {describe(busy)}.")
    if not stack.supervisor_running():
        print("Embedded stack is not running (start it with `make run`).")
        return 3
    return 0 if _print_status(stack, only) else 1


def cmd_down(stack: Stack, only: list[str] | None) -> int:
    """Stop the stack; exit 1 if any process survived."""
    was_running = stack.supervisor_running()
    alive = stack.down()
    if alive:
        print(f"error: processes still alive after stop: {alive}", file=sys.stderr)
        return 1
    print("Embedded stack stopped; no process left." if was_running else "Nothing was running.")
    return 0


def cmd_airflow(args: list[str]) -> int:
    """Run an Airflow CLI command against the embedded stack."""
    env = stack_env(get_settings())
    os.execve(str(VENV_BIN / "airflow"), ["airflow", *args], env)
    return 0  # not reached


def cmd_beeline(args: list[str]) -> int:
    """Run beeline on the stack's HiveServer2 and database; run $SQL if it is set (`make beeline SQL=…`)."""
    settings = get_settings()
    sql = os.environ.get("SQL", "").strip()
    argv = ["beeline", "-u", settings.hive_jdbc_url, *(["-e", sql] if sql else []), *args]
    os.execve(str(VENV_BIN / "beeline"), argv, stack_env(settings))
    return 0  # not reached


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(prog="python -m embedded", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["airflow"]:
        return cmd_airflow(argv[1:])
    if argv[:1] == ["beeline"]:
        return cmd_beeline(argv[1:])
    parser.add_argument("command", choices=["up", "status", "down", "airflow", "beeline"])
    parser.add_argument("--only", help="comma-separated services to start or show (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("pyhive").setLevel(logging.WARNING)
    only = args.only.split(",") if args.only else None
    stack = Stack(get_settings())
    if args.command == "status":
        return cmd_status(stack, only)
    # One `make run` or `make stop` at a time: the second waits for the first.
    command = {"up": "run", "down": "stop"}[args.command]
    try:
        with StackLock(stack.settings.run_dir).hold(command, LOCK_WAIT_S):
            return {"up": cmd_up, "down": cmd_down}[args.command](stack, only)
    except StackBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
