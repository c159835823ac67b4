"""The embedded stack's processes: supervisord's tree, its record on disk, and ending what outlives it.

The tree is recorded with each process's start time (``<run dir>/pids.json``), so that a later `make stop`
recognises the processes it started even when supervisord is gone, and never signals a process that
reused one of their PIDs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil


class ProcessRecords:
    """supervisord's process tree and its record on disk, in a run directory."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir

    @property
    def _record(self) -> Path:
        return self.run_dir / "pids.json"

    def supervisord(self) -> dict[str, int]:
        """Return supervisord's PID from its pidfile ({} when it is not there)."""
        pidfile = self.run_dir / "supervisord.pid"
        if pidfile.exists():
            return {"supervisord": int(pidfile.read_text().strip())}
        return {}

    def tree(self) -> list[int]:
        """Return the PIDs of supervisord and every process below it."""
        pid = self.supervisord().get("supervisord")
        if not pid:
            return []
        try:
            root = psutil.Process(pid)
            return [pid, *(c.pid for c in root.children(recursive=True))]
        except psutil.Error:
            return []

    def tree_handles(self) -> dict[int, psutil.Process]:
        """Return psutil handles of supervisord and its descendants (safe against PID reuse)."""
        handles = {}
        for pid in self.tree():
            try:
                handles[pid] = psutil.Process(pid)
            except psutil.Error:
                continue
        return handles

    def record(self) -> None:
        """Record every process of the tree with its start time (to recognise it later)."""
        pids = {}
        for pid, proc in self.tree_handles().items():
            try:
                pids[str(pid)] = {"name": " ".join(proc.cmdline()[:2])[-80:], "started": proc.create_time()}
            except psutil.Error:
                continue
        self._record.write_text(json.dumps(pids, indent=2))

    def recorded_handles(self) -> dict[int, psutil.Process]:
        """Return the recorded processes that still run (same PID and start time)."""
        handles = {}
        for pid, info in (json.loads(self._record.read_text()) if self._record.exists() else {}).items():
            try:
                proc = psutil.Process(int(pid))
                if abs(proc.create_time() - info["started"]) < 0.01:
                    handles[proc.pid] = proc
            except (psutil.Error, KeyError, TypeError):
                continue
        return handles

    def forget(self) -> None:
        self._record.unlink(missing_ok=True)


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def signal(proc: psutil.Process, how: str) -> None:
    try:
        getattr(proc, how)()  # psutil checks the process is still the one we saw
    except psutil.Error:
        pass


def end(processes: list[psutil.Process], timeout: float) -> tuple[int, list[int]]:
    """Terminate the processes still alive, kill what ignores that, wait until they are gone (up to
    ``timeout``); return how many had to be ended and the PIDs still alive."""
    survivors = [p for p in processes if alive(p)]
    for proc in survivors:
        signal(proc, "terminate")
    _, still = psutil.wait_procs(survivors, timeout=min(30.0, timeout))
    for proc in still:
        signal(proc, "kill")
    deadline = time.monotonic() + timeout
    left = [p for p in processes if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.3)
        left = [p for p in left if alive(p)]
    return len(survivors), [p.pid for p in left]
