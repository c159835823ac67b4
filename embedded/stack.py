"""Start, check and stop the embedded stack as supervisord-managed processes.

supervisord owns every long-running process: it records PIDs, restarts a
process that dies, keeps one log per service in ``<data dir>/logs`` and,
with ``stopasgroup``/``killasgroup``, stops whole process trees (spark-submit
and its JVM, gunicorn and its workers). This module renders its config,
starts services phase by phase behind health checks, and runs the one-shot
set-up steps of each service around its start (embedded/service_hooks.py). Its processes'
record and the ending of what outlives supervisord: embedded/processes.py.
"""

from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import dataclass
from xmlrpc.client import Fault

from clickstream.settings import Settings
from embedded import bootstrap, hadoop, processes, service_hooks, streaming_app
from embedded.environment import airflow_admin_password, stack_env
from embedded.services import Service, all_services, supervisord_conf
from embedded.supervisor import Supervisor

log = logging.getLogger(__name__)

# DAGs that `make run` unpauses so the platform runs with no further action.
LIFECYCLE_DAGS = [
    "clickstream_simulation",
    "clickstream_streaming",
    "clickstream_streaming_health",
    "clickstream_hourly",
    "clickstream_daily",
    "clickstream_reconciliation",
    "clickstream_retention",
    "clickstream_alert_drill",  # manual only: unpaused so that a trigger runs at once
]


# Airflow's processes that must outlive the streaming application's stop, to record its task's end.
AIRFLOW_CORE = ("airflow-api-server", "airflow-scheduler")


@dataclass(frozen=True)
class ServiceStatus:
    """What `status` reports of one service."""

    name: str
    state: str
    pid: int | None
    healthy: bool
    url: str | None


class StackError(RuntimeError):
    """A service failed to start or to become healthy."""


class Stack:
    """The embedded stack of one data directory."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.services = all_services(settings)
        self.by_name = {svc.name: svc for svc in self.services}
        self.supervisor = Supervisor(settings.run_dir)
        self.processes = processes.ProcessRecords(settings.run_dir)
        self.healthy_at: dict[str, float] = {}  # service -> when the last up() saw it healthy (epoch s)
        self.stop_steps: dict[str, float] = {}  # step of the last down() -> seconds since it began

    def closure(self, names: list[str] | None) -> list[Service]:
        """Return the named services plus everything they require, in start order."""
        if names is None:
            return list(self.services)
        unknown = set(names) - set(self.by_name)
        if unknown:
            raise ValueError(f"unknown services: {sorted(unknown)}; known: {sorted(self.by_name)}")
        wanted: set[str] = set()
        todo = list(names)
        while todo:
            name = todo.pop()
            if name not in wanted:
                wanted.add(name)
                todo.extend(self.by_name[name].requires)
        return [svc for svc in self.services if svc.name in wanted]

    # -- supervisord (embedded/supervisor.py) --------------------------------

    def _rpc(self):
        return self.supervisor.rpc()

    def supervisor_running(self) -> bool:
        """Return whether this stack's supervisord answers."""
        return self.supervisor.running()

    def _start_supervisord(self) -> None:
        s = self.settings
        for d in (s.run_dir, s.log_dir, s.airflow_home):
            d.mkdir(parents=True, exist_ok=True)
        if not self.supervisor.start(supervisord_conf(s, self.services), stack_env(s), s.repo_root):
            raise StackError(f"supervisord did not start; see {s.log_dir}/supervisord.log")

    def _process_info(self) -> dict[str, dict]:
        return self.supervisor.process_info()

    # -- lifecycle -----------------------------------------------------------

    def _tail(self, name: str, lines: int = 25) -> str:
        path = self.settings.log_dir / f"{name}.log"
        if not path.exists():
            return "(no log)"
        text = path.read_text(errors="replace").splitlines()[-lines:]
        return f"last lines of {path}:\n" + "\n".join(text)

    def _hook(self, hook, name: str) -> None:
        """Run a service's hook (embedded/service_hooks.py); its failure stops the start."""
        try:
            hook(name, self.settings)
        except service_hooks.HookError as exc:
            raise StackError(str(exc)) from exc

    def recorded_pids(self) -> dict[str, int]:
        """Return supervisord's PID from its pidfile ({} when it is not there)."""
        return self.processes.supervisord()

    def process_tree(self) -> list[int]:
        """Return the PIDs of supervisord and every process below it."""
        return self.processes.tree()

    def _start(self, services: list[Service], started: set[str]) -> None:
        """Start each service as soon as what it requires is healthy and set up; wait until all are.

        Services in ``started`` were not running: they get their one-shot set-up steps. The others
        were set up when they started, and are only waited for.
        """
        rpc = self._rpc()
        names = {svc.name for svc in services}
        waiting = list(services)
        launched: dict[str, float] = {}
        ready: set[str] = set()
        while waiting or launched:
            for svc in list(waiting):
                if (all(r in ready or r not in names for r in svc.requires)
                        and all(a in launched or a in ready or a not in names for a in svc.after)):
                    if svc.name in started:
                        self._hook(service_hooks.before_start, svc.name)
                        log.info("starting %s", svc.name)
                        rpc.startProcess(svc.name, False)
                    launched[svc.name] = time.monotonic()
                    waiting.remove(svc)
            info = self._process_info()
            for name, since in list(launched.items()):
                svc = self.by_name[name]
                state = info.get(name, {}).get("statename")
                if state == "FATAL":
                    raise StackError(f"{name} failed to start: {self._tail(name)}")
                if state == "RUNNING" and svc.healthy(self.settings):
                    log.info("%s healthy after %.1fs", name, time.monotonic() - since)
                    self.healthy_at[name] = time.time()
                    if name in started:
                        self._hook(service_hooks.after_healthy, name)
                    ready.add(name)
                    del launched[name]
                elif time.monotonic() - since > svc.start_timeout:
                    raise StackError(f"{name} not healthy after {svc.start_timeout:.0f}s "
                                     f"(state {state}): {self._tail(name)}")
            if launched:
                time.sleep(0.5)

    def up(self, names: list[str] | None = None, lifecycle: bool = False) -> list[ServiceStatus]:
        """Start the named services (default: all) not yet running, bootstrap state, report.

        With lifecycle, also unpause the lifecycle DAGs and have Airflow start the
        simulated users, as `make run` does.
        """
        s = self.settings
        selected = self.closure(names)
        try:
            bootstrap.record_cluster_mode(s)
            if s.on_yarn:
                hadoop.prepare(s)
        except (ValueError, hadoop.HadoopSetupError, subprocess.CalledProcessError) as exc:
            raise StackError(str(exc)) from exc
        if not self.supervisor_running():
            self._start_supervisord()
        # Bootstrap only what starts now: a running service was bootstrapped when it started, so a
        # second `make run` checks health and returns (no migration, no second simulation start).
        info = self._process_info()
        started = {svc.name for svc in selected
                   if info.get(svc.name, {}).get("statename") not in ("RUNNING", "STARTING")}
        if started & {"streamlit", *(svc.name for svc in selected if svc.name.startswith("airflow-"))}:
            bootstrap.ensure_batch_start(s)  # read by the DAGs and the dashboard when they start
        self._start(selected, started)
        self.processes.record()
        # After every service is healthy: unpausing as soon as the scheduler was, the api-server, still
        # busy with the dag-processor's and triggerer's start on two cores, timed out on a restart.
        if lifecycle and "airflow-scheduler" in started:
            sites = all(f"site-{site}" in started for site in s.sites)
            bootstrap.start_lifecycle(s, LIFECYCLE_DAGS, start_simulation=sites)
        return self.status(names)

    def down(self, timeout: float = 90) -> list[int]:
        """Stop every process of the stack and return PIDs still alive (none when clean)."""
        began = time.monotonic()
        self.stop_steps = {}

        def step(name: str) -> None:
            self.stop_steps[name] = round(time.monotonic() - began, 1)
            log.info("stop: %s after %.1fs", name, self.stop_steps[name])

        tree = {**self.processes.recorded_handles(), **self.processes.tree_handles()}
        if self.supervisor_running():
            rpc = self._rpc()
            # First the streaming application, while Airflow's api-server and scheduler run to record
            # its task's end; the other clients stop meanwhile.
            for svc in self.services:
                if svc.phase == 2 and svc.name not in AIRFLOW_CORE:
                    self._request_stop(rpc, svc)
            streaming_app.stop_gracefully(self.settings)
            step("streaming application stopped")
            # Stop in reverse phase order, clients before the services they use; a phase's services
            # stop together.
            for phase in sorted({svc.phase for svc in self.services}, reverse=True):
                tree.update(self.processes.tree_handles())  # e.g. tasks Airflow started meanwhile
                slowest = self._stop_phase(rpc, [svc for svc in self.services if svc.phase == phase])
                step(f"phase {phase} stopped ({'clients' if phase == 2 else 'services'}; last: {slowest})")
            try:
                rpc.shutdown()
            except (OSError, Fault):
                pass
        # Some processes leave their service's process group and outlive it: Airflow runs each
        # task in a session of its own, so the streaming job's spark-submit survives the
        # scheduler. Terminate what is left of the tree, then kill what ignores that.
        ended, alive = processes.end(list(tree.values()), timeout)
        step(f"every process gone ({ended} outlived their service)")
        if not alive:
            self.processes.forget()
        return alive

    def stop_service(self, name: str) -> None:
        """Stop one service and wait until it has stopped (supervisord no longer restarts it)."""
        self._stop_phase(self._rpc(), [self.by_name[name]])

    @staticmethod
    def _request_stop(rpc, svc: Service) -> None:
        try:
            rpc.stopProcess(svc.name, False)
        except Fault:
            pass  # not running, or already stopping

    def _stop_phase(self, rpc, services: list[Service]) -> str:
        """Ask supervisord to stop these services at once, wait until each has stopped; name the slowest."""
        began = time.monotonic()
        for svc in services:
            self._request_stop(rpc, svc)
        # supervisord kills a service that outlives its stopwaitsecs; allow for that and a margin.
        deadline = began + max((svc.stop_wait for svc in services), default=0) + 10
        pending = {svc.name for svc in services}
        slowest = ""
        while pending and time.monotonic() < deadline:
            time.sleep(0.2)
            info = self._process_info()
            still = {name for name in pending
                     if info.get(name, {}).get("statename") in ("RUNNING", "STOPPING", "STARTING")}
            if still != pending:
                slowest = f"{sorted(pending - still)[0]} {time.monotonic() - began:.1f}s"
            pending = still
        return slowest

    def status(self, names: list[str] | None = None) -> list[ServiceStatus]:
        """Return state, PID and health of the named services (default: all), not of what they require."""
        info = self._process_info()
        out = []
        for svc in (self.services if names is None else [s for s in self.closure(names) if s.name in names]):
            p = info.get(svc.name, {})
            state = p.get("statename", "STOPPED")
            healthy = state == "RUNNING" and svc.healthy(self.settings)
            url = svc.url(self.settings) if svc.url else None
            out.append(ServiceStatus(svc.name, state, p.get("pid") or None, healthy, url))
        return out

    def admin_password(self) -> str:
        """Return the Airflow admin password (generated at the first start, kept in passwords.json)."""
        return airflow_admin_password(self.settings)
