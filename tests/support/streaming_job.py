"""Run the streaming application once to its end (available-now), outside Airflow."""

from __future__ import annotations

import subprocess

from bench.local_app import APPLICATION, submit_command
from embedded.environment import stack_env


def run_job(settings, *args: str, application=APPLICATION) -> subprocess.CompletedProcess:
    """Run the streaming job to its end; its output (Python's and Spark's, interleaved) is in stdout.

    ``application``: another release's main (its library is settings.repo_root, on the PYTHONPATH).
    """
    return subprocess.run(
        submit_command(settings, *args, driver_memory="1g", application=application),
        env=stack_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600, cwd=settings.repo_root,  # Python workers put their cwd first on sys.path
    )  # fmt: skip


def failure(job: subprocess.CompletedProcess) -> str:
    """What a failed spark-submit said: its Python traceback if there is one, else its last lines.

    Spark copies the driver's Python output to its own stdout, ahead of the JVM's shutdown logs.
    """
    out = job.stdout or ""
    start = out.rfind("Traceback (most recent call last)")
    return out[start:start + 6000] if start >= 0 else out[-6000:]
