"""Measure Airflow's metadata DB under the embedded stack's load: SQLite vs PostgreSQL.

Usage: python -m bench.airflow_metadb [--backends sqlite,postgres]

For each backend it starts a private embedded Airflow (api-server, scheduler,
dag-processor, triggerer; LocalExecutor) on free ports, runs a long
"streaming" task while an hourly DAG catches up 24 runs x 6 tasks, and
reports wall time, task outcomes and "database is locked" errors in the logs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.report import Figure, Plot, record
from embedded.ports import private_ports

REPO = Path(__file__).resolve().parent.parent


def _env(data_dir: Path, backend: str, parallelism: int) -> dict[str, str]:
    return {
        **os.environ,
        **private_ports(),
        "CLICKSTREAM_DATA_DIR": str(data_dir),
        "CLICKSTREAM_AIRFLOW_DB": backend,
        "CLICKSTREAM_DAGS_FOLDER": str(REPO / "bench" / "metadb_dags"),
        "CLICKSTREAM_AIRFLOW_PARALLELISM": str(parallelism),
        "PYTHONPATH": str(REPO),
    }


def _cli(env: dict[str, str], *args: str, check: bool = True) -> str:
    cmd = [str(REPO / ".venv/bin/python"), "-m", "embedded", *args]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    if check and result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    return result.stdout


def _runs(env: dict[str, str], dag_id: str) -> list[dict]:
    out = _cli(env, "airflow", "dags", "list-runs", dag_id, "-o", "json", check=False)
    # The CLI prints log lines (e.g. "[warning ] …") before its JSON.
    for line in out.splitlines():
        if line.startswith("[{") or line == "[]":
            return json.loads(line)
    return []


def measure(backend: str, parallelism: int = 6, timeout: float = 900) -> dict:
    """Run the workload on one backend and return its figures."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"cs-metadb-{backend}-"))
    data_dir.chmod(0o755)
    env = _env(data_dir, backend, parallelism)
    services = "airflow-api-server,airflow-scheduler,airflow-dag-processor,airflow-triggerer"
    try:
        _cli(env, "up", "--only", services)
        for _ in range(60):  # wait for the dag-processor to serialise both DAGs
            listed = _cli(env, "airflow", "dags", "list", "-o", "json", check=False)
            if "metadb_stress_hourly" in listed and "metadb_stress_stream" in listed:
                break
            time.sleep(2)
        start = time.monotonic()
        _cli(env, "airflow", "dags", "unpause", "metadb_stress_stream")
        _cli(env, "airflow", "dags", "trigger", "metadb_stress_stream")
        _cli(env, "airflow", "dags", "unpause", "metadb_stress_hourly")
        runs: list[dict] = []
        while time.monotonic() - start < timeout:
            runs = _runs(env, "metadb_stress_hourly")
            if len(runs) == 24 and all(r["state"] in ("success", "failed") for r in runs):
                break
            time.sleep(5)
        elapsed = time.monotonic() - start
        stream = _runs(env, "metadb_stress_stream")
        logs = "".join(p.read_text(errors="replace") for p in (data_dir / "logs").rglob("*.log"))
        return {
            "backend": backend,
            "parallelism": parallelism,
            "hourly_runs": len(runs),
            "hourly_success": sum(r["state"] == "success" for r in runs),
            "hourly_failed": sum(r["state"] == "failed" for r in runs),
            "stream_state": stream[0]["state"] if stream else "missing",
            "seconds_for_144_tasks": round(elapsed, 1),
            "database_is_locked": logs.count("database is locked"),
            "tracebacks_in_logs": logs.count("Traceback (most recent call last)"),
        }
    finally:
        _cli(env, "down", check=False)
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    """Measure each backend and print one JSON line per backend."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--parallelism", type=int, default=6, help="AIRFLOW__CORE__PARALLELISM")
    args = parser.parse_args()
    measured = []
    for backend in args.backends.split(","):
        measured.append(measure(backend, args.parallelism))
        print(json.dumps(measured[-1]), flush=True)
    record("airflow_metadb", "Airflow metadata database under parallel tasks",
           "python -m bench.airflow_metadb", [
        Figure(f"{m['backend']}: 144 tasks, parallelism {m['parallelism']}", m["seconds_for_144_tasks"], "s",
               target="no 'database is locked', every run succeeds",
               met=m["database_is_locked"] == 0 and m["hourly_failed"] == 0) for m in measured
    ], Plot("144 tasks (24 hourly runs) with parallel workers", "seconds", [m["backend"] for m in measured],
            {"seconds": [m["seconds_for_144_tasks"] for m in measured]}),
           notes="; ".join(f"{m['backend']}: {m['hourly_success']}/24 runs succeeded, "
                           f"{m['database_is_locked']} 'database is locked' errors" for m in measured))


if __name__ == "__main__":
    main()
