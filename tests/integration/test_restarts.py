"""Three `make stop` / `make run` cycles under load on a fresh stack (tests/support/restarts.py).

About 13 minutes on two cores: marked ``slow`` and left out of `make test`, whose budget it would
exceed; run it with `make test-restarts`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from embedded.ports import private_ports
from tests.support.restarts import render_every_page, restart_cycles
from tests.support.stack import Airflow, make

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def test_three_stop_and_run_cycles():
    data_dir = Path(tempfile.mkdtemp(prefix="cs-restarts-"))
    data_dir.chmod(0o755)
    ports = private_ports()
    env = {**os.environ, "CLICKSTREAM_DATA_DIR": str(data_dir), **ports}
    try:
        first = make("run", env)
        assert first.returncode == 0, first.stdout + first.stderr
        password = re.search(r"Airflow login: admin / (\S+)", first.stdout).group(1)
        # The fresh stack: no batch table yet; every page shows its content or says what creates it.
        fresh = render_every_page(f"http://127.0.0.1:{ports['CLICKSTREAM_STREAMLIT_PORT']}")
        assert "the batch DAGs create it in their first run" in fresh["traffic"], fresh
        airflow = Airflow(f"http://127.0.0.1:{ports['CLICKSTREAM_AIRFLOW_PORT']}", password)
        restart_cycles(env, data_dir, airflow)
    finally:
        stop = make("stop", env, timeout=300)
        assert stop.returncode == 0, stop.stdout + stop.stderr
        shutil.rmtree(data_dir, ignore_errors=True)
