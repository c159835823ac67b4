"""One-shot steps that prepare state for the embedded services: idempotent, safe to rerun."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from clickstream.embedded.environment import VENV_BIN, load_secrets, stack_env
from clickstream.embedded.services import postgres_bin, postgres_user
from clickstream.settings import Settings

log = logging.getLogger(__name__)


def _run_as(user: str | None, cmd: list[str]) -> None:
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def init_postgres(settings: Settings) -> None:
    """Create the PostgreSQL cluster of Airflow's metadata DB on first start."""
    pgdata = settings.data_dir / "postgres"
    if (pgdata / "PG_VERSION").exists():
        return
    user = postgres_user()
    password = load_secrets(settings)["postgres_password"]
    pgdata.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", delete=False, dir=settings.run_dir) as pw:
        pw.write(password)
    try:
        if user:
            shutil.chown(pgdata, user)
            shutil.chown(pw.name, user)
            # The socket directory must be writable by the server's user.
            os.chmod(settings.run_dir, 0o777)
        _run_as(
            user,
            [
                str(postgres_bin() / "initdb"),
                "-D", str(pgdata),
                "-U", "airflow",
                "--auth=scram-sha-256",
                f"--pwfile={pw.name}",
                "--encoding=UTF8",
            ],
        )  # fmt: skip
    finally:
        Path(pw.name).unlink(missing_ok=True)
    log.info("initialised PostgreSQL cluster in %s", pgdata)


def create_airflow_database(settings: Settings) -> None:
    """Create the `airflow` database inside the running PostgreSQL cluster."""
    import psycopg2

    password = load_secrets(settings)["postgres_password"]
    conn = psycopg2.connect(
        host="127.0.0.1", port=settings.pg_port, user="airflow", password=password,
        dbname="postgres",
    )  # fmt: skip
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = 'airflow'")
            if cur.fetchone() is None:
                cur.execute("CREATE DATABASE airflow")
    finally:
        conn.close()


def migrate_airflow(settings: Settings) -> None:
    """Run `airflow db migrate` against the metadata DB."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(VENV_BIN / "airflow"), "db", "migrate"],
        env=stack_env(settings), capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


def ensure_batch_start(settings: Settings) -> None:
    """Record the hour of the first start: the hourly and daily DAGs catch up from it, not from before."""
    from datetime import UTC, datetime

    epoch = settings.data_dir / "batch_start"
    if not settings.batch_start and not epoch.exists():
        epoch.parent.mkdir(parents=True, exist_ok=True)
        epoch.write_text(datetime.now(UTC).replace(minute=0, second=0, microsecond=0).isoformat() + "\n")


def create_hive_database(settings: Settings) -> None:
    """Create the platform's Hive database over its warehouse location."""
    from clickstream.hive import execute

    execute(settings, f"CREATE DATABASE IF NOT EXISTS {settings.hive_database} "
                      f"LOCATION '{settings.warehouse_uri.rstrip('/')}/{settings.hive_database}'",
            database=None)


def start_lifecycle(settings: Settings, dag_ids: list[str], start_simulation: bool) -> None:
    """Register the DAGs now, unpause the lifecycle DAGs, and trigger the simulations' start."""
    env = stack_env(settings)
    airflow = str(VENV_BIN / "airflow")

    def run(*args: str) -> None:
        result = subprocess.run([airflow, *args], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{result.stderr[-2000:]}")

    # Parse dags/ into the metadata DB now rather than waiting for the dag-processor's
    # first pass, so the DAGs can be unpaused and triggered right away.
    run("dags", "reserialize")
    run("dags", "unpause", "--treat-dag-id-as-regex", "-y", "^(" + "|".join(dag_ids) + ")$")
    if start_simulation:
        run("dags", "trigger", "clickstream_simulation", "--conf", '{"action": "start"}')
        log.info("triggered clickstream_simulation: starting the simulated users")
