"""Run the streaming application with spark-submit outside Airflow (benchmarks, recovery tests).

Airflow's DAG submits the same application with SparkSubmitOperator; this
launcher exists for measurements and fault injection, where a test needs the
process itself: to kill it with SIGKILL and start it again.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from clickstream.settings import REPO_ROOT, Settings
from embedded.environment import VENV_BIN, stack_env

APPLICATION = REPO_ROOT / "include" / "spark_jobs" / "clickstream_streaming.py"


def submit_command(settings: Settings, *args: str, master: str = "local[2]", driver_memory: str = "2g",
                   application: Path = APPLICATION) -> list[str]:
    """Return the spark-submit command of the streaming application, with Spark's Kafka connector."""
    return [str(VENV_BIN / "spark-submit"), "--master", master, "--driver-memory", driver_memory,
            "--jars", settings.spark_jars, "--conf", "spark.ui.enabled=false", str(application), *args]


class LocalApp:
    """One spark-submit of the streaming application, in its own process group."""

    def __init__(self, settings: Settings, *args: str, log: Path, master: str = "local[2]",
                 driver_memory: str = "2g"):
        self.log = log
        cmd = submit_command(settings, *args, master=master, driver_memory=driver_memory)
        with log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, env=stack_env(settings), cwd=REPO_ROOT, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL the whole application: driver JVM, Python workers, everything in its group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)

    def wait(self, timeout: float) -> int:
        """Wait for the application to end; return its exit code."""
        return self.proc.wait(timeout)

    def running(self) -> bool:
        """Return whether the application is still running."""
        return self.proc.poll() is None
