"""The streaming application as the embedded stack's commands see it: its status, and a graceful stop.

`make stop` stops it before the services: it pauses the ``clickstream_streaming`` DAG (so that no
new run starts it again while the stack goes down), writes a stop request into the application's
control directory, waits for it to stop between micro-batches and exit 0, and for Airflow to record
its task as a success. No retry is consumed and no failure alert is sent. `make run` unpauses the DAG
(with the other lifecycle DAGs), and the continuous schedule starts a fresh run at once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import psutil

from clickstream.airflow_api import AirflowApiError
from clickstream.settings import Settings
from clickstream.streaming import monitor
from embedded.environment import stack_api

log = logging.getLogger(__name__)

DAG_ID = "clickstream_streaming"
TASK_ID = "run_streaming_app"
STOP_WAIT_S = 40.0  # the application's between-batches wait (10 s) plus flushing and Spark's own stop


def _local(uri: str) -> Path | None:
    parsed = urlparse(uri)
    return Path(parsed.path) if parsed.scheme in ("", "file") else None


def process(settings: Settings, record: dict | None = None) -> psutil.Process | None:
    """Return the driver process of the streaming application on this machine, if it is running.

    record: what the application recorded when it started (read from its control directory if None).
    """
    record = record or monitor.application(settings)
    if not record or not record.get("pid"):
        return None
    try:
        proc = psutil.Process(int(record["pid"]))
        started = datetime.fromisoformat(record["started"]).timestamp()
        # The same process, not a later one with its PID: it started before it wrote its record.
        if proc.create_time() <= started + 1 and "clickstream_streaming" in " ".join(proc.cmdline()):
            return proc if proc.status() != psutil.STATUS_ZOMBIE else None
    except (psutil.Error, ValueError, KeyError):
        return None
    return None


@dataclass(frozen=True)
class StreamingStatus:
    """What `make status` says of the streaming application."""

    running: bool
    app_id: str | None
    pid: int | None
    last_progress: datetime | None
    lag: int | None  # records of the events topic ingest has yet to commit

    def line(self) -> str:
        """One line: running or not, its Spark id, last progress and lag."""
        if not self.running:
            return "not running (the clickstream_streaming DAG starts it; see its task log in Airflow)"
        parts = [self.app_id or "starting"]
        if self.last_progress:
            age = (datetime.now(UTC) - self.last_progress).total_seconds()
            parts.append(f"last progress {age:.0f} s ago")
        else:
            parts.append("no progress yet")
        parts.append("lag unknown" if self.lag is None else f"lag {self.lag:,} records")
        return ", ".join(parts)


def status(settings: Settings) -> StreamingStatus:
    """Return whether the streaming application runs, its id, its newest progress and its lag."""
    record = monitor.application(settings)
    proc = process(settings, record)
    progress = monitor.newest_progress(settings) if proc else None
    try:
        lag = monitor.lag(settings) if proc else None
    except Exception:  # noqa: BLE001 - the broker being down makes the lag unknown, not the status fail
        lag = None
    return StreamingStatus(
        running=proc is not None,
        app_id=record.get("app_id") if proc else None,
        pid=proc.pid if proc else None,
        last_progress=progress["ts"] if progress else None,
        lag=sum(lag.values()) if lag is not None else None,
    )


def processing(settings: Settings) -> bool:
    """Return whether the application runs and has reported progress since it started."""
    record = monitor.application(settings)
    if process(settings, record) is None:
        return False
    progress = monitor.newest_progress(settings)
    return bool(progress and progress["ts"] >= datetime.fromisoformat(record["started"]))


def wait_running(settings: Settings, timeout: float) -> bool:
    """Wait until the streaming application runs and has made progress; return whether it has."""
    deadline = time.monotonic() + timeout
    while not processing(settings):
        if time.monotonic() >= deadline:
            return False
        time.sleep(1)
    return True


def request_stop(settings: Settings) -> bool:
    """Write a stop request for the application; return False when the warehouse is not local."""
    control = _local(settings.streaming_control_uri)
    if control is None:
        return False
    control.mkdir(parents=True, exist_ok=True)
    (control / "stop").write_text(f"requested by make stop at {datetime.now(UTC).isoformat()}\n")
    return True


def stop_gracefully(settings: Settings, timeout: float = STOP_WAIT_S) -> bool:
    """Pause the streaming DAG, stop its application between micro-batches and let its task succeed.

    Return whether the application ended by itself (False: it was not running, or did not stop in
    time and is left to the stack's stop, which kills it).
    """
    proc = process(settings)
    api = stack_api(settings)
    runs: list[dict] = []
    try:
        api.set_paused(DAG_ID, True)
        runs = api.dag_runs(DAG_ID, limit=5, state=["running"])
    except AirflowApiError as exc:
        log.warning("could not pause %s: %s", DAG_ID, exc)
    if proc is None or not request_stop(settings):
        return False
    log.info("stopping the streaming application (%s) between micro-batches", proc.pid)
    deadline = time.monotonic() + timeout
    try:
        proc.wait(timeout)
    except psutil.TimeoutExpired:
        log.warning("the streaming application did not stop within %.0f s", timeout)
        return False
    # The task reports its success to the api-server once spark-submit has exited.
    for run in runs:
        while time.monotonic() < deadline:
            try:
                state = api.task_instance(DAG_ID, run["dag_run_id"], TASK_ID).get("state")
            except AirflowApiError:
                break
            if state != "running":
                log.info("streaming task of %s ended: %s", run["dag_run_id"], state)
                break
            time.sleep(0.5)
    return True
