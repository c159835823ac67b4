"""Build the hourly or daily tables of a whole span in one run of the job, as the DAGs' runs would.

For tools that need many hours or days at once (the screenshots' week, the tests' built day and week):
one spark-submit instead of one per hour or day, then every partition registered and every report
filled with the DAGs' own HiveQL.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime, timedelta

from clickstream.hive import execute, render_hql, split_statements
from clickstream.settings import REPO_ROOT, Settings
from embedded.environment import VENV_BIN, stack_env


def _submit(settings: Settings, job: str, *args: str, timeout: float) -> None:
    done = subprocess.run(
        [str(VENV_BIN / "spark-submit"), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
         str(REPO_ROOT / "include" / "spark_jobs" / f"clickstream_{job}.py"), *args],
        env=stack_env(settings), capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"the {job} job failed:\n{done.stderr[-3000:]}")


_ADD_PARTITION = re.compile(r"ALTER TABLE (\S+) ADD IF NOT EXISTS (PARTITION \(.*\))", re.DOTALL)


def at_once(statements: list[str]) -> list[str]:
    """The statements with each table's partition additions merged into one ALTER TABLE (in the place of
    its first), and any statement repeated alike (the ledger's repair) once: a span's hundreds of
    registrations are then a few round trips to HiveServer2, not one each."""
    merged: dict[str, list[str]] = {}
    for sql in statements:
        added = _ADD_PARTITION.fullmatch(sql)
        merged.setdefault(added[1] if added else sql, []).extend([added[2]] if added else [])
    return [f"ALTER TABLE {key} ADD IF NOT EXISTS {' '.join(dict.fromkeys(specs))}" if specs else key
            for key, specs in merged.items()]


def build_hours(settings: Settings, start: datetime, end: datetime, timeout: float = 1800) -> None:
    """Run the hourly job over [start, end), create any missing table, register every hour's partitions."""
    _submit(settings, "hourly", "--start", start.isoformat(), "--end", end.isoformat(), timeout=timeout)
    hours = int((end - start).total_seconds() // 3600)
    execute(settings, *split_statements(render_hql("create_tables.hql", settings)))
    execute(settings, *at_once([sql for h in range(hours) for sql in split_statements(
        render_hql("add_hourly_partitions.hql", settings, data_interval_start=start + timedelta(hours=h)))]))


def build_days(settings: Settings, first: date, days: int, timeout: float = 1800) -> None:
    """Run the daily job over ``days`` days from ``first`` on, create any missing table, register every
    day's partitions and fill every report of each day."""
    from clickstream import catalog

    _submit(settings, "daily", "--day", first.isoformat(), "--days", str(days), timeout=timeout)
    execute(settings, *split_statements(render_hql("create_tables.hql", settings)))
    midnights = [datetime(day.year, day.month, day.day, tzinfo=UTC)
                 for day in (first + timedelta(days=n) for n in range(days))]
    execute(settings, *at_once([sql for midnight in midnights for sql in split_statements(
        render_hql("add_daily_partitions.hql", settings, data_interval_start=midnight))]))
    for midnight in midnights:
        execute(settings, *[sql for name in catalog.names(catalog.REPORT) for sql in split_statements(
            render_hql(f"{name}.hql", settings, data_interval_start=midnight))])
