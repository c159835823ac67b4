"""The embedded stack as a user drives it from outside: `make`, its processes, the Airflow REST API, Hive."""

from __future__ import annotations

import ipaddress
import os
import random
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import orjson
import psutil
import pyarrow.dataset as ds
import requests

from bench.load import settled_day
from clickstream.settings import REPO_ROOT
from embedded.polling import wait_for
from ops.airflow_api import AirflowApi
from simulators.generate import day_sessions
from simulators.sites import SITES


def make(target: str, env: dict[str, str], timeout: int = 420) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", target], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:  # exited or a zombie meanwhile
        return ""


def processes_using(data_dir: Path) -> list[psutil.Process]:
    """Return processes whose command line or environment names the data directory."""
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            text = " ".join(proc.info["cmdline"] or []) + str(proc.info["environ"] or {})
        except psutil.Error:
            continue
        if str(data_dir) in text and proc.pid != os.getpid():
            found.append(proc)
    return found


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)  # a JVM's IPv6 socket bound to 127.0.0.1: ::ffff:127.0.0.1
    return (mapped or ip).is_loopback


def listening_elsewhere(processes: list[psutil.Process]) -> list[str]:
    """Return "address:port (process)" for each socket these processes listen on beyond the loopback."""
    pids = {p.pid: p for p in processes}
    found = []
    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids and not _loopback(conn.laddr.ip):
            found.append(f"{conn.laddr.ip}:{conn.laddr.port} ({cmdline(pids[conn.pid])[:120]})")
    return sorted(found)


class Airflow(AirflowApi):
    """The Airflow REST API (v2) as a user's script calls it, logged in as admin: the platform's client
    (ops/airflow_api.py) with what the tests ask of it besides."""

    def __init__(self, base: str, password: str):
        super().__init__(base, "admin", password, timeout=30)

    def get(self, path: str, **params) -> dict:
        return self.call("GET", path, params=params)

    def trigger(self, dag_id: str, conf: dict) -> str:
        """Trigger a run now, as the UI's Trigger button does; return its run id."""
        run = self.call("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        return run["dag_run_id"]

    def backfill(self, dag_id: str, start: datetime, end: datetime) -> dict:
        """Create a backfill (as `airflow backfill create` does) and return it."""
        return self.call("POST", "backfills", json={
            "dag_id": dag_id, "from_date": start.isoformat(), "to_date": end.isoformat(),
            "max_active_runs": 2})  # fmt: skip

    def finished_runs(self, dag_id: str, count: int, timeout: float) -> dict[str, str]:
        """Wait for the DAG's backfill runs to end; return {logical date: state}."""
        def done():
            runs = self.get(f"dags/{dag_id}/dagRuns", run_type="backfill", limit=100)["dag_runs"]
            ended = {r["logical_date"]: r["state"] for r in runs if r["state"] in ("success", "failed")}
            return ended if len(ended) >= count else None

        return wait_for(done, timeout, 3, f"{count} backfill runs of {dag_id}")


def hive(port: int, sql: str) -> list[tuple]:
    """Rows of one query on this stack's HiveServer2, through the platform's client."""
    from clickstream.hive import execute
    from clickstream.settings import get_settings

    stack = get_settings().replace(hive_host="127.0.0.1", hive_port=port,
                                hive_database="clickstream")
    return execute(stack, sql)


def tables_exist(port: int) -> bool:
    """Whether the streaming application has created its tables (it does when it first starts)."""
    return {"stream_progress", "live_metrics_latest"} <= {r[1] for r in hive(port, "SHOW TABLES")}


BATCH = 20  # events a client request carries


class Client(threading.Thread):
    """Posts batches to the collectors at `rate` events/s, retrying 503s with backoff; keeps accepted ids."""

    def __init__(self, urls: dict[str, str], rate: float):
        super().__init__(daemon=True)
        self.urls, self.rate = urls, rate
        self.stop = threading.Event()
        self.accepted: set[str] = set()
        self.unavailable = 0      # 503 answers
        self.unreachable = 0      # connection refused (collector stopped)
        self.other: list[str] = []
        day = settled_day()
        self.pools = {site: [e for b in day_sessions(SITES[site], day, 3_000, random.Random(site),
                                                     malformed_share=0) for e in b.events]
                      for site in urls}

    def batches(self):
        """Yield (site, events) forever, each pass over a site's pool with new event ids."""
        n = 0
        while True:
            for site, pool in self.pools.items():
                start = (n * BATCH) % len(pool)
                events = [e | {"event_id": f"{e['event_id'][:-8]}{n:08x}"} for e in pool[start:start + BATCH]]
                yield site, events
            n += 1

    def run(self) -> None:
        session = requests.Session()
        began = time.monotonic()
        for i, (site, events) in enumerate(self.batches()):
            if self.stop.is_set():
                return
            time.sleep(max(0.0, began + i * BATCH / self.rate - time.monotonic()))
            backoff = 0.2
            while not self.stop.is_set():
                try:
                    resp = session.post(f"{self.urls[site]}/collect", data=orjson.dumps(events), timeout=10,
                                        headers={"Content-Type": "application/json"})
                except requests.ConnectionError:
                    self.unreachable += 1
                    time.sleep(0.5)  # not a busy loop while the stack is down
                    break  # the collector is gone (stack stopping): this batch was not accepted
                if resp.status_code == 200:
                    rejected = {events[r["index"]]["event_id"] for r in resp.json()["rejected_events"]}
                    if rejected:  # recorded for the test to report, not raised where no one sees it
                        self.other.append(f"200 {resp.text[:200]}")
                    self.accepted.update(e["event_id"] for e in events if e["event_id"] not in rejected)
                    break
                if resp.status_code == 503:
                    self.unavailable += 1
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                self.other.append(f"{resp.status_code} {resp.text[:200]}")
                break


def archived_ids(settings) -> list[str]:
    """Return the event ids raw_events holds, read from its files (no Hive needed)."""
    path = Path(settings.table_path("raw_events").removeprefix("file://"))
    if not path.exists():
        return []
    return ds.dataset(path, format="parquet", partitioning="hive").to_table(columns=["event_id"]) \
        .column("event_id").to_pylist()
