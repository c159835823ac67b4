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

import psutil

from clickstream import storage
from clickstream.settings import Settings
from clickstream.streaming import monitor
from clickstream.streaming.lifecycle import STOP_FILE
from embedded import hadoop, hadoop_status
from embedded.environment import stack_api
from embedded.polling import until
from ops.airflow_api import AirflowApiError

log = logging.getLogger(__name__)

DAG_ID = "clickstream_streaming"
TASK_ID = "run_streaming_app"
STOP_WAIT_S = 40.0  # the application's between-batches wait (10 s) plus flushing and Spark's own stop


YARN_LIVE = ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING")


@dataclass(frozen=True)
class Application:
    """The running streaming application: a local driver process, or a YARN application (cluster mode)."""

    app_id: str
    started: datetime
    proc: psutil.Process | None = None  # the driver, when it runs on this machine outside YARN

    def wait(self, settings: Settings, timeout: float) -> bool:
        """Wait until the application has ended; return whether it did within timeout."""
        if self.proc is not None:
            try:
                self.proc.wait(timeout)
                return True
            except psutil.TimeoutExpired:
                return False
        return until(lambda: hadoop_status.application(settings, self.app_id).get("state") not in YARN_LIVE,
                     timeout, 0.5)


def running(settings: Settings, record: dict | None = None) -> Application | None:
    """Return the streaming application if it is running (its driver here, or its YARN application).

    record: what the application recorded when it started (read from its control directory if None).
    """
    record = record or monitor.application(settings)
    if not record or not record.get("app_id"):
        return None
    try:
        started = datetime.fromisoformat(record["started"])
    except (KeyError, ValueError):
        return None
    if str(record["app_id"]).startswith("application_"):
        state = (hadoop_status.application(settings, record["app_id"]).get("state") if settings.on_yarn
                 else None)
        return Application(record["app_id"], started) if state in YARN_LIVE else None
    try:
        proc = psutil.Process(int(record["pid"]))
        # The same process, not a later one with its PID: it started before it wrote its record.
        if (proc.create_time() <= started.timestamp() + 1
                and "clickstream_streaming" in " ".join(proc.cmdline())
                and proc.status() != psutil.STATUS_ZOMBIE):
            return Application(record["app_id"], started, proc)
    except (psutil.Error, ValueError, KeyError, TypeError):
        return None
    return None


@dataclass(frozen=True)
class StreamingStatus:
    """What `make status` says of the streaming application."""

    running: bool
    app_id: str | None
    pid: int | None  # of the driver, when it runs on this machine (not on YARN)
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
    app = running(settings)
    progress = monitor.newest_progress(settings) if app else None
    try:
        lag = monitor.lag(settings) if app else None
    except Exception:  # noqa: BLE001 - the broker being down makes the lag unknown, not the status fail
        lag = None
    return StreamingStatus(
        running=app is not None,
        app_id=app.app_id if app else None,
        pid=app.proc.pid if app and app.proc else None,
        last_progress=progress["ts"] if progress else None,
        lag=sum(lag.values()) if lag is not None else None,
    )


def processing(settings: Settings) -> bool:
    """Return whether the application runs and has reported progress since it started."""
    app = running(settings)
    if app is None:
        return False
    progress = monitor.newest_progress(settings)
    return bool(progress and progress["ts"] >= app.started)


def wait_running(settings: Settings, timeout: float) -> bool:
    """Wait until the streaming application runs and has made progress; return whether it has."""
    return until(lambda: processing(settings), timeout)


def request_stop(settings: Settings) -> bool:
    """Write a stop request into the application's control directory (local or HDFS); say if it was."""
    filesystem, control = storage.from_uri(settings.streaming_control_uri, settings)
    try:
        filesystem.create_dir(control, recursive=True)
        with filesystem.open_output_stream(f"{control}/{STOP_FILE}") as out:
            out.write(f"requested by make stop at {datetime.now(UTC).isoformat()}\n".encode())
    except OSError as exc:
        log.warning("could not write the stop request: %s", exc)
        return False
    return True


def stop_gracefully(settings: Settings, timeout: float = STOP_WAIT_S) -> bool:
    """Pause the streaming DAG, stop its application between micro-batches and let its task succeed.

    Return whether the application ended by itself (False: it was not running, or did not stop in
    time and is left to the stack's stop, which kills it).
    """
    app = running(settings)
    api = stack_api(settings)
    runs: list[dict] = []
    try:
        api.set_paused(DAG_ID, True)
        runs = api.dag_runs(DAG_ID, limit=5, state=["running"])
    except AirflowApiError as exc:
        log.warning("could not pause %s: %s", DAG_ID, exc)
    if app is None or not request_stop(settings):
        return False
    log.info("stopping the streaming application (%s) between micro-batches", app.app_id)
    deadline = time.monotonic() + timeout
    if not app.wait(settings, timeout):
        log.warning("the streaming application did not stop within %.0f s", timeout)
        if app.proc is None:  # a YARN application outlives the stack's processes: kill it there
            hadoop.tool(settings, "application", "-kill", app.app_id, check=False)
        return False
    # The task reports its success to the api-server once spark-submit has exited.
    for run in runs:
        def ended(run_id: str = run["dag_run_id"]) -> bool:
            try:
                state = api.task_instance(DAG_ID, run_id, TASK_ID).get("state")
            except AirflowApiError:
                return True  # the api-server is gone: nothing to wait for
            if state != "running":
                log.info("streaming task of %s ended: %s", run_id, state)
            return state != "running"

        until(ended, max(0.0, deadline - time.monotonic()), 0.5)
    return True
