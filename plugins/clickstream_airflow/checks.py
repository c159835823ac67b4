"""Data-quality checks kept as SQL files (include/hql/checks/*.sql), run by the common-sql provider.

A checks file names its table and partition in header comments and each check in a ``-- check:``
comment followed by a boolean SQL expression over the table's rows in the partition::

    -- table: {{ clickstream_db }}.hourly_pages
    -- partition: dt = '…' AND hr = …
    -- check: no_null_keys
    COUNT(*) = COUNT(app_id)

:func:`table_check` turns it into a ``SQLTableCheckOperator``: one query, and a failure names every
check that failed. The expressions are templates, rendered with the DAG's macros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HEADER = re.compile(r"^--\s*(table|partition|check):\s*(.+?)\s*$")


@dataclass(frozen=True)
class TableChecks:
    """The checks of one checks file."""

    table: str
    partition_clause: str
    checks: dict[str, str]  # name → boolean SQL expression


def read_checks(path: Path) -> TableChecks:
    """Parse a checks file; raise ValueError naming what it lacks."""
    headers: dict[str, str] = {}
    checks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text().splitlines():
        match = _HEADER.match(line.strip())
        if match and match.group(1) == "check":
            current = checks.setdefault(match.group(2), [])
        elif match:
            headers[match.group(1)] = match.group(2)
        elif line.strip().startswith("--") or not line.strip():
            continue
        elif current is None:
            raise ValueError(f"{path}: SQL before the first '-- check:' line: {line.strip()!r}")
        else:
            current.append(line.rstrip())
    missing = [h for h in ("table", "partition") if h not in headers]
    if missing or not checks or not all(checks.values()):
        raise ValueError(f"{path}: needs '-- table:', '-- partition:' and at least one non-empty "
                         f"'-- check:' (missing: {missing or 'a check'})")
    return TableChecks(headers["table"], headers["partition"],
                       {name: "\n".join(lines) for name, lines in checks.items()})


def table_check(task_id: str, path: Path, conn_id: str = "hiveserver2_default", **kwargs):
    """Return the SQLTableCheckOperator that runs a checks file's checks."""
    from airflow.providers.common.sql.operators.sql import SQLTableCheckOperator

    spec = read_checks(path)
    return SQLTableCheckOperator(
        task_id=task_id, conn_id=conn_id, table=spec.table, partition_clause=spec.partition_clause,
        checks={name: {"check_statement": sql} for name, sql in spec.checks.items()}, **kwargs)
