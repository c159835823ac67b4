"""`make run` twice, `make status`, `make stop`: as a user runs them, on a private data dir."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import requests

from clickstream.embedded.ports import free_ports
from clickstream.settings import REPO_ROOT

pytestmark = pytest.mark.integration


def _make(target: str, env: dict[str, str], timeout: int = 420) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", target], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:  # exited or a zombie meanwhile
        return ""


def _processes_using(data_dir: Path) -> list[psutil.Process]:
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


def test_make_run_is_idempotent_and_make_stop_leaves_nothing():
    data_dir = Path(tempfile.mkdtemp(prefix="cs-make-"))
    data_dir.chmod(0o755)
    ports = free_ports(8)
    env = {
        **os.environ,
        "CLICKSTREAM_DATA_DIR": str(data_dir),
        "CLICKSTREAM_BROKER_PORT": str(ports[0]),
        "CLICKSTREAM_HIVE_PORT": str(ports[1]),
        "CLICKSTREAM_AIRFLOW_PORT": str(ports[2]),
        "CLICKSTREAM_PG_PORT": str(ports[3]),
        "CLICKSTREAM_STREAMLIT_PORT": str(ports[4]),
        "CLICKSTREAM_SIM_PORTS": ",".join(str(p) for p in ports[5:8]),
    }
    try:
        first = _make("run", env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "started" in first.stdout
        for url in (f"http://127.0.0.1:{ports[2]}", f"http://127.0.0.1:{ports[4]}",
                    f"jdbc:hive2://127.0.0.1:{ports[1]}/clickstream"):
            assert url in first.stdout
        assert "Airflow login: admin / " in first.stdout

        second = _make("run", env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "already running" in second.stdout

        status = _make("status", env, timeout=60)
        assert status.returncode == 0, status.stdout
        assert status.stdout.count("healthy") == status.stdout.count("RUNNING") == 12
        assert "UNHEALTHY" not in status.stdout
        supervisord = psutil.Process(int((data_dir / "run" / "supervisord.pid").read_text()))
        tree = [supervisord, *supervisord.children(recursive=True)]
        assert len(tree) > 20  # 12 services, their workers and children
        # Airflow started the simulated users: the platform is live with no further action.
        deadline = time.monotonic() + 120
        states = {}
        while time.monotonic() < deadline:
            states = {p: requests.get(f"http://127.0.0.1:{p}/simulation", timeout=10).json()["state"]
                      for p in ports[5:8]}
            if set(states.values()) == {"running"}:
                break
            time.sleep(3)
        assert set(states.values()) == {"running"}, states
        # ... and Airflow's continuous DAG has the streaming application running under spark-submit.
        deadline = time.monotonic() + 180
        streaming = []
        while time.monotonic() < deadline and not streaming:
            streaming = [p for p in _processes_using(data_dir)
                         if "clickstream_streaming.py" in _cmdline(p)]
            time.sleep(3)
        assert streaming, "the streaming application never started"
    finally:
        stop = _make("stop", env, timeout=180)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert "no process left" in stop.stdout
    assert [p.pid for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    left = _processes_using(data_dir)
    assert left == [], [_cmdline(p) for p in left]
    after = _make("status", env, timeout=60)
    assert after.returncode != 0 and "not running" in after.stdout
    shutil.rmtree(data_dir, ignore_errors=True)
