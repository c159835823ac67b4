"""Soak of the embedded stack as `make run` leaves it: hours unattended, with a stop / start in the middle.

Usage: python -m bench.soak [--hours 3] [--slice-minutes 60] [--restart-at-minutes 90]

On a private data directory and free ports, ``up`` with the lifecycle, as `make run` does: every DAG
unpaused, the streaming application submitted by its DAG, the default simulation (10 users a site).
Alongside it:

- a client posts one contract-valid event a second through the shop's collector, as a visitor's browser
  would. A poller looks for the client's events in ``raw_events`` through HiveServer2 every 3 s. Each
  event's archive freshness is the end of the first poll that finds it minus the moment it was posted
  (resolution: the poll interval);
- once, at ``--restart-at-minutes``, a stop and a start (`make stop`, `make run`);
- at the end, two backfills through Airflow's REST API, as the UI's backfill form creates them: of the
  hour before the stack started (nothing ran then: an empty hour) and of the first whole hour of the
  soak. Each hour's ``hourly_pages`` must equal a HiveQL count over ``raw_events``.

Per slice it reports: the RSS of each service (its process tree; the streaming application apart from
the scheduler that runs it), the most files an hour partition of a live table reads, the disk use of the data
directory, the client's archive freshness (p50, p95) and the failed task tries. At the end: every DAG
run's state and tries, the alert mails, the events archived.

Targets (issue 38): 0 failed task tries, no alert mail, RSS and freshness flat after the first hour
(within 10 %), disk growth proportional to events. No sample is dropped: a client event never found
counts with the soak's remaining time. Left out: the daily DAG's nightly run, unless the soak spans
midnight UTC.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psutil
import requests

from bench.private import private_stack
from bench.report import Figure, Plot, record
from bench.services import service_processes
from clickstream.streaming.compaction import current_local_dir

MIB = 2**20
POLL_EVERY_S = 3.0


class Client(threading.Thread):
    """Posts one event a second through a collector; records when each was posted."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        from simulators.generate import day_sessions
        from simulators.sites import SITES

        self.url = url
        day = datetime.now(UTC).date()
        self.pool = [e for b in day_sessions(SITES["shop"], day, 2_000, random.Random(7), malformed_share=0)
                     for e in b.events]
        self.posted: dict[str, tuple[float, str]] = {}  # event_id -> (posted at, event hour "dt hr")
        self.refused = 0
        self.stop = threading.Event()

    def run(self) -> None:
        session = requests.Session()
        i = 0
        while not self.stop.wait(max(0.0, 1.0 - time.time() % 1.0)):
            now = datetime.now(UTC)
            stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            event = self.pool[i % len(self.pool)] | {"event_id": str(uuid.uuid4()), "event_time": stamp,
                                                     "sent_time": stamp}
            i += 1
            try:
                resp = session.post(f"{self.url}/collect", data=orjson.dumps([event]), timeout=10,
                                    headers={"Content-Type": "application/json"})
            except requests.RequestException:
                self.refused += 1  # the stack is stopped (the restart): a browser's event would be lost too
                continue
            if resp.status_code == 200 and resp.json()["accepted"] == 1:
                self.posted[event["event_id"]] = (time.time(), f"{now:%Y-%m-%d} {now.hour}")
            else:
                self.refused += 1


class ArchivePoller(threading.Thread):
    """Finds the client's events in raw_events through HiveServer2; records when each was first seen."""

    def __init__(self, settings, client: Client):
        super().__init__(daemon=True)
        self.settings, self.client = settings, client
        self.seen: dict[str, float] = {}
        self.failed = 0
        self.stop = threading.Event()

    def run(self) -> None:
        from clickstream.hive import execute

        while not self.stop.wait(POLL_EVERY_S):
            pending: dict[str, list[str]] = {}
            for event_id, (_, hour) in list(self.client.posted.items()):
                if event_id not in self.seen:
                    pending.setdefault(hour, []).append(event_id)
            for hour, ids in pending.items():
                dt, hr = hour.split()
                quoted = ", ".join(f"'{i}'" for i in ids[:500])
                try:
                    rows = execute(self.settings, f"SELECT event_id FROM raw_events WHERE dt = '{dt}' "
                                                  f"AND hr = {hr} AND event_id IN ({quoted})")
                except Exception:  # noqa: BLE001 - HiveServer2 restarting (the stop / start): next poll
                    self.failed += 1
                    continue
                done = time.time()
                for (event_id,) in rows:
                    self.seen.setdefault(event_id, done)


def service_rss(stack) -> dict[str, int]:
    """RSS (MiB) per service, its process tree included; the streaming application apart."""
    out: dict[str, int] = {}
    for name, processes in service_processes(stack).items():
        for proc in processes:
            try:
                out[name] = out.get(name, 0) + proc.memory_info().rss
            except psutil.Error:
                continue
    return {k: round(v / MIB) for k, v in sorted(out.items())}


def live_files(settings) -> dict[str, int]:
    """Per live table, the most data files a partition of today reads now (its newest complete generation,
    clickstream/streaming/compaction.py): what a read of one hour lists."""
    root = Path(settings.table_path("x").removeprefix("file://")).parent
    today = f"dt={datetime.now(UTC):%Y-%m-%d}"
    most: dict[str, int] = {}
    for table in sorted(root.glob("live_*")):
        for partition in sorted((table / today).glob("hr=*")):
            current = current_local_dir(partition)
            files = sum(1 for f in current.glob("*.parquet") if not f.name.startswith((".", "_")))
            most[table.name] = max(most.get(table.name, 0), files)
    return most


def disk_mib(path: Path) -> int:
    """Bytes under a directory, in MiB."""
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / MIB)


def task_tries(api) -> dict[str, dict]:
    """Per DAG: runs by state, and task tries that failed (a try that was retried, or the last one failed)."""
    out = {}
    for dag in api.dags("clickstream_"):
        dag_id = dag["dag_id"]
        tis = api.call("GET", f"dags/{dag_id}/dagRuns/~/taskInstances",
                       params={"limit": 1000})["task_instances"]
        runs = api.call("GET", f"dags/{dag_id}/dagRuns", params={"limit": 1000})["dag_runs"]
        failed = sum(max(0, (ti.get("try_number") or 1) - 1) + (ti["state"] == "failed") for ti in tis
                     if ti["state"] in ("success", "failed", "up_for_retry", "upstream_failed", "running"))
        states: dict[str, int] = {}
        for run in runs:
            states[run["state"]] = states.get(run["state"], 0) + 1
        out[dag_id] = {"runs": states, "failed_tries": failed}
    return out


def failed_tries(api) -> int | None:
    """Failed task tries so far over every DAG; None if the API did not answer (it is counted at the end)."""
    try:
        return sum(d["failed_tries"] for d in task_tries(api).values())
    except Exception:  # noqa: BLE001 - an API hiccup must not end hours of soak
        return None


def percentile(values: list[float], q: float) -> float | None:
    """Return the q-th percentile (0-100) of values, or None if there are none."""
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 1)


def backfill_hour(api, settings, dag_id: str, hour: datetime, timeout: float = 1800) -> str:
    """Backfill one hour of a DAG through the REST API (as the UI's form does); return the run's state.

    An hour the scheduler ran already is run again (reprocess "completed"), as a user backfilling a
    finished hour asks for. A backfill skips an hour whose run is still in flight (it completes without a
    run), so the hour's own run is waited for first. An API error is returned as the state, not raised
    (the soak's figures stay).
    """
    from embedded.polling import until, wait_for
    from ops.airflow_api import AirflowApiError

    logical = hour.isoformat().replace("+00:00", "Z")

    def runs_of_hour(run_type: str | None = None) -> list[dict]:
        params = {"limit": 100, **({"run_type": run_type} if run_type else {})}
        return [run for run in api.call("GET", f"dags/{dag_id}/dagRuns", params=params)["dag_runs"]
                if run["logical_date"] == logical]

    if not until(lambda: all(r["state"] in ("success", "failed") for r in runs_of_hour()), timeout, 10):
        return "timeout: the hour's own run did not end"

    def posted() -> bool:
        try:
            api.call("POST", "backfills", json={"dag_id": dag_id, "from_date": hour.isoformat(),
                                                "to_date": hour.isoformat(), "max_active_runs": 1,
                                                "reprocess_behavior": "completed"})
        except AirflowApiError as exc:
            if "409" not in str(exc):  # 409: the DAG's previous backfill is not yet marked completed
                raise
            return False
        return True

    try:
        if not until(posted, 300, 15):
            return "refused: 409 for 5 minutes"
    except AirflowApiError as exc:
        return f"refused: {exc}"
    try:
        return wait_for(lambda: next((r["state"] for r in runs_of_hour("backfill")
                                      if r["state"] in ("success", "failed")), None), timeout, 10)
    except TimeoutError:
        return "timeout"


def main() -> None:
    """Run the soak and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--slice-minutes", type=float, default=60.0)
    parser.add_argument("--restart-at-minutes", type=float, default=90.0)
    args = parser.parse_args()

    started = datetime.now(UTC)
    slices, restarted = [], None
    client = poller = None
    with private_stack("cs-bench-soak-", keep=True) as (settings, stack, data_dir):
        from clickstream.hive import execute
        from embedded.environment import stack_api

        try:
            stack.up(lifecycle=True)
            api = stack_api(settings)
            client = Client(f"http://127.0.0.1:{settings.sites['shop']}")
            poller = ArchivePoller(settings, client)
            client.start()
            poller.start()
            t0 = time.monotonic()
            end = t0 + args.hours * 3600
            next_slice = t0 + args.slice_minutes * 60
            while time.monotonic() < end:
                time.sleep(min(30.0, max(0.0, end - time.monotonic())))
                if restarted is None and time.monotonic() - t0 >= args.restart_at_minutes * 60:
                    r0 = time.monotonic()
                    stack.down()
                    stack.up(lifecycle=True)
                    restarted = {"at_min": round((r0 - t0) / 60, 1),
                                 "took_s": round(time.monotonic() - r0, 1)}
                    print(f"stop / start at {restarted['at_min']} min: {restarted['took_s']} s", flush=True)
                if time.monotonic() >= next_slice or time.monotonic() >= end:
                    slices.append({
                        "slice": len(slices) + 1, "minutes": round((time.monotonic() - t0) / 60, 1),
                        "until": time.time(), "rss_mib": service_rss(stack),
                        "live_files": live_files(settings),
                        "data_dir_mib": disk_mib(data_dir),
                        "failed_tries": failed_tries(api),
                    })
                    print(json.dumps(slices[-1]), flush=True)
                    next_slice += args.slice_minutes * 60
            time.sleep(60)  # the last minute's events get their time to be archived, as every other's had
            client.stop.set()
            poller.stop.set()
            # The backfills: the hour before the stack started, and the soak's first whole hour.
            before = started.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
            during = before + timedelta(hours=1)  # the hour the stack started in: the soak ran in it
            backfills = {}
            for hour in (before, during):
                if hour + timedelta(hours=1) > datetime.now(UTC):
                    continue  # the soak was shorter than that hour
                state = backfill_hour(api, settings, "clickstream_hourly", hour)
                (pages,), = execute(settings, f"SELECT COALESCE(SUM(events), 0) FROM hourly_pages "
                                              f"WHERE dt = '{hour:%Y-%m-%d}' AND hr = {hour.hour}")
                (raw,), = execute(settings, f"SELECT COUNT(*) FROM raw_events "
                                            f"WHERE dt = '{hour:%Y-%m-%d}' AND hr = {hour.hour}")
                backfills[f"{hour:%Y-%m-%d %H}:00"] = {"state": state, "hourly_pages_events": int(pages),
                                                       "raw_events": int(raw)}
            tries = task_tries(api)
            mails = sorted(p.name for p in (data_dir / "mail" / "new").glob("*")) if (
                data_dir / "mail" / "new").is_dir() else []
            (archived,), = execute(settings,
                                   f"SELECT COUNT(*) FROM raw_events WHERE dt >= '{started:%Y-%m-%d}'")
        finally:
            if client is not None:
                client.stop.set()
            if poller is not None:
                poller.stop.set()
    # Freshness per slice, by when the client posted: an event never found counts until the soak's end.
    finished, since = time.time(), 0.0
    for piece in slices:
        fresh = [poller.seen.get(eid, finished) - at for eid, (at, _) in client.posted.items()
                 if since <= at < piece["until"]]
        piece.update(client_events=len(fresh), freshness_p50_s=percentile(fresh, 50),
                     freshness_p95_s=percentile(fresh, 95), never_found=sum(
                         1 for eid, (at, _) in client.posted.items()
                         if since <= at < piece["until"] and eid not in poller.seen))
        since = piece.pop("until")
    all_fresh = [poller.seen.get(eid, finished) - at for eid, (at, _) in client.posted.items()]
    result = {"hours": args.hours, "restart": restarted, "slices": slices, "backfills": backfills,
              "dags": tries, "alert_mails": len(mails), "events_archived": int(archived),
              "client": {"posted": len(client.posted), "refused_while_stopped": client.refused,
                         "freshness_p50_s": percentile(all_fresh, 50),
                         "freshness_p95_s": percentile(all_fresh, 95)},
              "poll_failures": poller.failed}
    print(json.dumps(result, indent=2))
    for piece in slices:
        print(json.dumps(piece))
    failed = sum(d["failed_tries"] for d in tries.values())
    first, last = (slices[1] if len(slices) > 1 else slices[0]), slices[-1]
    rss = lambda s: sum(s["rss_mib"].values())  # noqa: E731
    most_files = max((n for piece in slices for n in piece["live_files"].values()), default=0)
    bound = settings.live_partition_max_files + 2  # the compacted file, the batches after it, one in flight
    record("soak", "Soak: the stack as `make run` leaves it, unattended, with a stop / start",
           f"python -m bench.soak --hours {args.hours:g}", [
        Figure("failed task tries", failed, "", target="0", met=failed == 0),
        Figure("alert mails", len(mails), "", target="0", met=not mails),
        Figure("most files a live hour partition reads, any slice", most_files, "",
               target=f"<= {bound} (compacted past {settings.live_partition_max_files})",
               met=most_files <= bound),
        Figure("RSS, all services, last slice", rss(last), "MiB", rss(first), "second slice",
               "within 10 %", abs(rss(last) - rss(first)) <= 0.1 * rss(first)),
        Figure("client's archive freshness p95, last slice", last["freshness_p95_s"] or 0, "s",
               first["freshness_p95_s"], "second slice", "within 10 %",
               None if not first["freshness_p95_s"] else
               (last["freshness_p95_s"] or 0) <= 1.1 * first["freshness_p95_s"]),
    ], Plot("Per slice", "value", [f"slice {s['slice']}" for s in slices],
            {"RSS GiB": [round(rss(s) / 1024, 2) for s in slices],
             "freshness p95 s": [s["freshness_p95_s"] or 0 for s in slices],
             "max live files / 100": [max(s["live_files"].values() or [0]) / 100 for s in slices]}),
        notes=json.dumps({"backfills": backfills, "restart": restarted}))
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
