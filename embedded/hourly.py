"""Build the hourly tables of a whole span in one run of the hourly job, as its hourly DAG runs would.

For tools that need many hours at once (the screenshots' week, the tests' built day): one spark-submit
instead of one per hour, then every hour's partitions registered with the DAG's own HiveQL.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta

from clickstream.hive import execute, render_hql, split_statements
from clickstream.settings import REPO_ROOT, Settings
from embedded.environment import VENV_BIN, stack_env


def build_hours(settings: Settings, start: datetime, end: datetime, timeout: float = 1800) -> None:
    """Run the hourly job over [start, end), create any missing table, register every hour's partitions."""
    job = subprocess.run(
        [str(VENV_BIN / "spark-submit"), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
         str(REPO_ROOT / "include" / "spark_jobs" / "clickstream_hourly.py"),
         "--start", start.isoformat(), "--end", end.isoformat()],
        env=stack_env(settings), capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)
    if job.returncode != 0:
        raise RuntimeError(f"the hourly job failed:\n{job.stderr[-3000:]}")
    hours = int((end - start).total_seconds() // 3600)
    execute(settings, *split_statements(render_hql("create_tables.hql", settings)))
    execute(settings, *[sql for h in range(hours) for sql in split_statements(
        render_hql("add_hourly_partitions.hql", settings, data_interval_start=start + timedelta(hours=h)))])
