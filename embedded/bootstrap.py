"""One-shot steps that prepare state for the embedded services: idempotent, safe to rerun."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from clickstream.settings import Settings
from embedded.environment import VENV_BIN, load_secrets, stack_api, stack_env
from embedded.hive_conf import METASTORE_DB, METASTORE_USER
from embedded.services import postgres_bin, postgres_user

log = logging.getLogger(__name__)
LIVE_DB = LIVE_USER = "live"  # the Live page's store (settings.live_store_url names them)


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
                migrated_stamp(settings).unlink(missing_ok=True)  # a new, empty database
    finally:
        conn.close()


class MetastoreUnavailable(RuntimeError):
    """HiveServer2's metastore database does not answer."""


def _pg_connect(settings: Settings, user: str, password: str, dbname: str):
    import psycopg2

    return psycopg2.connect(host="127.0.0.1", port=settings.pg_port, user=user, password=password,
                            dbname=dbname, connect_timeout=10)


def _ensure_database(settings: Settings, user: str, password: str, database: str) -> None:
    """Create (or give its current password to) a role and the database it owns, if missing."""
    from psycopg2 import sql

    conn = _pg_connect(settings, "airflow", load_secrets(settings)["postgres_password"], "postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(password)))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(user)))
                log.info("created the database %s", database)
    finally:
        conn.close()


def create_metastore_database(settings: Settings) -> None:
    """Create HiveServer2's metastore database (`metastore`, owned by `hive`) in the running PostgreSQL.

    Production's metastore-db container starts the same way: an empty database that HiveServer2 fills
    with the metastore's schema at its first start (docker/config/hive/hive-site.xml).
    """
    _ensure_database(settings, METASTORE_USER, load_secrets(settings)["metastore_password"], METASTORE_DB)


def create_live_database(settings: Settings) -> None:
    """Create the Live page's store (database `live`, owned by `live`): the streaming application creates
    its table (clickstream/streaming/live_store.py)."""
    _ensure_database(settings, LIVE_USER, load_secrets(settings)["live_password"], LIVE_DB)


def check_metastore_database(settings: Settings) -> None:
    """Raise MetastoreUnavailable, naming the database and how to start it, unless it answers.

    HiveServer2 never falls back to an empty local metastore: without its database it does not start.
    """
    import psycopg2

    try:
        password = load_secrets(settings)["metastore_password"]
        _pg_connect(settings, METASTORE_USER, password, METASTORE_DB).close()
    except psycopg2.Error as exc:
        raise MetastoreUnavailable(
            f"the metastore database `{METASTORE_DB}` on PostgreSQL 127.0.0.1:{settings.pg_port} "
            f"(user {METASTORE_USER}) does not answer: {str(exc).strip()}. It is the stack's `postgres` "
            f"service: `make run` starts it (`make status` shows it; log: {settings.log_dir}/postgres.log)"
        ) from exc


def migrated_stamp(settings: Settings) -> Path:
    """The file recording which Airflow release migrated the PostgreSQL metadata DB (removed with the DB)."""
    return settings.airflow_home / "migrated"


def migrate_airflow(settings: Settings) -> None:
    """Run `airflow db migrate` against the metadata DB, unless this Airflow release already did.

    A stamp next to the DB's data records the release that last migrated it: a restart skips the
    15 s the command takes to find nothing to do, an upgraded Airflow migrates.
    """
    from importlib.metadata import version

    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    stamp = migrated_stamp(settings)
    release = f"apache-airflow {version('apache-airflow')}\n"
    if settings.airflow_db == "postgres" and stamp.is_file() and stamp.read_text() == release:
        return
    result = subprocess.run(
        [str(VENV_BIN / "airflow"), "db", "migrate"],
        env=stack_env(settings), capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    stamp.write_text(release)


def ensure_batch_start(settings: Settings) -> None:
    """Record the hour of the first start: the hourly and daily DAGs catch up from it, not from before."""
    from datetime import UTC, datetime

    epoch = settings.data_dir / "batch_start"
    if not settings.batch_start and not epoch.exists():
        epoch.parent.mkdir(parents=True, exist_ok=True)
        epoch.write_text(datetime.now(UTC).replace(minute=0, second=0, microsecond=0).isoformat() + "\n")


def record_cluster_mode(settings: Settings) -> None:
    """Record the data directory's mode (local or yarn) at its first start; refuse to switch it later.

    The warehouse of one mode is local files, of the other HDFS, and the metastore points at one of
    them: a data directory cannot change mode. `make status` and `make stop` read the recorded mode.
    """
    path = settings.data_dir / "cluster"
    if path.is_file():
        recorded = path.read_text().strip()
        if recorded != settings.cluster:
            raise ValueError(
                f"{settings.data_dir} was created in {recorded} mode and cannot run in {settings.cluster} "
                f"mode (its warehouse and metastore are those of {recorded}): `make run CLUSTER={recorded}`, "
                f"or give the other mode its own data directory (CLICKSTREAM_DATA_DIR=...)"
            )
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(settings.cluster + "\n")


def create_hive_database(settings: Settings) -> None:
    """Create the platform's Hive database over its warehouse location."""
    from clickstream.hive import create_database_sql, execute

    execute(settings, create_database_sql(settings), database=None)


def start_lifecycle(settings: Settings, dag_ids: list[str], start_simulation: bool) -> None:
    """Unpause the lifecycle DAGs and trigger the simulations' start (Airflow's REST API).

    On the first start the DAGs are parsed into the metadata DB first (``airflow dags
    reserialize``) rather than waiting for the dag-processor's first pass; on later starts they
    are there already, and the REST calls take a second.
    """
    api = stack_api(settings)
    known = {dag["dag_id"] for dag in api.dags("clickstream")}
    if not set(dag_ids) <= known:
        result = subprocess.run([str(VENV_BIN / "airflow"), "dags", "reserialize"], env=stack_env(settings),
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"airflow dags reserialize failed:\n{result.stderr[-2000:]}")
    for dag_id in dag_ids:
        api.set_paused(dag_id, False)
    if start_simulation:
        api.call("POST", "dags/clickstream_simulation/dagRuns",
                 json={"logical_date": None, "conf": {"action": "start"}})
        log.info("triggered clickstream_simulation: starting the simulated users")
