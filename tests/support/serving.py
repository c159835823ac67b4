"""A server process for a test: started, waited for until its health URL answers, stopped at the end."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Generator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

from clickstream.settings import REPO_ROOT
from embedded.environment import VENV_BIN
from embedded.polling import wait_for


@contextmanager
def serving(command: Sequence[str], health_url: str, what: str, *, env: Mapping[str, str] | None = None,
            log: Path | None = None, timeout_s: float = 60) -> Generator[subprocess.Popen]:
    """Run ``command`` for the block; enter it once ``health_url`` answers 2xx (or fail, naming ``what``)."""
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(list(command), env=dict(env if env is not None else os.environ), cwd=REPO_ROOT,
                            stdout=out, stderr=subprocess.STDOUT if log else subprocess.DEVNULL)

    def healthy() -> bool:
        try:
            return requests.get(health_url, timeout=2).ok
        except requests.ConnectionError:
            return False

    try:
        wait_for(healthy, timeout_s, 0.5, what)
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)
        if log:
            out.close()


@contextmanager
def dashboard(port: int, env: Mapping[str, str] | None = None) -> Generator[str]:
    """Serve the dashboard as `make run` and production do (`streamlit run`, on 127.0.0.1); yield its URL."""
    command = [str(VENV_BIN / "streamlit"), "run", str(REPO_ROOT / "dashboard" / "streamlit_app.py"),
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false"]
    base = f"http://127.0.0.1:{port}"
    with serving(command, f"{base}/_stcore/health", "streamlit's health", env=env):
        yield base
