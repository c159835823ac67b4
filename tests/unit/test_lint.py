"""The code base passes ruff, including Airflow 3's AIR3 rules."""

from __future__ import annotations

import subprocess

from clickstream.settings import REPO_ROOT
from embedded.environment import VENV_BIN


def test_ruff_passes_with_air3_rules():
    result = subprocess.run([str(VENV_BIN / "ruff"), "check", "--output-format=concise", "."],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    config = (REPO_ROOT / "pyproject.toml").read_text()
    assert '"AIR3"' in config
