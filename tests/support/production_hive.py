"""Production's HiveServer2 on this machine: docker-compose.yml's own command and
docker/config/hive/hive-site.xml, its metastore in a PostgreSQL database of its own on the test run's server.

Only what Docker would change is changed: the metastore database's address, the warehouse (a local
directory instead of hdfs://namenode), HiveServer2's port and the paths the image mounts. No Docker here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from clickstream.hive import PASSWORD_VAR as HIVE_PASSWORD_VAR
from clickstream.settings import REPO_ROOT
from embedded.environment import load_secrets
from embedded.hive_conf import hive_site, local_overrides
from embedded.spark_dist import spark_home

PASSWORD_VAR = "HIVE_METASTORE_DB_PASSWORD"
HIVE_USER_VAR = "CLICKSTREAM_HIVE_USER"
# Production's database and user (`metastore`, `hive`) are the embedded stack's own on this PostgreSQL server:
# production's HiveServer2 gets a database and user of its own beside them.
PROD_DB, PROD_USER = "metastore_production", "hive_production"


def production_service() -> dict:
    """Return docker-compose.yml's hiveserver2 service."""
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]["hiveserver2"]


def production_command() -> list[str]:
    """Return docker-compose.yml's command of the hiveserver2 service, without its secrets-env prefix.

    secrets-env (docker/airflow/secrets-env.sh) sets the variables it names from their files; here the test
    sets them itself.
    """
    command = production_service()["command"]
    return command[command.index("--") + 1:] if command[0] == "secrets-env" else command


def _admin(settings):
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=settings.pg_port, user="airflow",
                            password=load_secrets(settings)["postgres_password"], dbname="postgres")
    conn.autocommit = True
    return conn


def create_metastore_db(stack, settings, **role_settings: str) -> str:
    """Create an empty metastore database and its owner, as compose's metastore-db; return the password.

    role_settings: PostgreSQL settings of the owner's sessions (ALTER ROLE … SET), e.g. planner choices.
    """
    stack.up(["postgres"])
    password = "metastore-" + load_secrets(settings)["postgres_password"][:12]
    conn = _admin(settings)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {PROD_DB}")
            cur.execute(f"DROP ROLE IF EXISTS {PROD_USER}")
            cur.execute(f"CREATE ROLE {PROD_USER} LOGIN PASSWORD %s", (password,))
            cur.execute(f"CREATE DATABASE {PROD_DB} OWNER {PROD_USER}")
            for name, value in role_settings.items():
                cur.execute(f"ALTER ROLE {PROD_USER} SET {name} = {value}")
    finally:
        conn.close()
    return password


def set_role(settings, role: str, **role_settings: str | None) -> None:
    """Set (or, with None, reset) PostgreSQL settings of a role's new sessions."""
    conn = _admin(settings)
    try:
        with conn.cursor() as cur:
            for name, value in role_settings.items():
                cur.execute(f"ALTER ROLE {role} RESET {name}" if value is None
                            else f"ALTER ROLE {role} SET {name} = {value}")
    finally:
        conn.close()


def start(settings, tmp_path: Path, password: str, hive_port: int,
          hive_password_file: Path | None = None) -> subprocess.Popen:
    """Start HiveServer2 with compose's command, the image's paths replaced by this machine's.

    ``hive_password_file``: production's login (compose's user, this file as its secret); without it,
    sessions open without a login, as the embedded runtime's.
    """
    conf = tmp_path / "hive-conf"
    conf.mkdir(exist_ok=True)
    warehouse = (tmp_path / "warehouse").as_uri()
    (conf / "hive-site.xml").write_text(hive_site(local_overrides(
        settings, database=PROD_DB, user=PROD_USER, hive_port=hive_port, warehouse=warehouse,
        login=hive_password_file is not None)))
    jars = REPO_ROOT / "jvm" / "lib"
    command = [str(spark_home() / "bin" / "spark-submit") if arg == "spark-submit" else
               arg.replace("/opt/clickstream/hive-conf", str(conf))
                  .replace("/opt/clickstream/jars/metastore", str(jars / "metastore"))
                  .replace("/opt/clickstream/jars/hive-auth", str(jars / "hive-auth"))
                  .replace("hdfs://namenode:8020/warehouse", warehouse)
               for arg in production_command()]
    env = {**os.environ, PASSWORD_VAR: password}
    if hive_password_file is not None:
        env |= {HIVE_USER_VAR: production_service()["environment"][HIVE_USER_VAR],
                f"{HIVE_PASSWORD_VAR}_FILE": str(hive_password_file)}
    log = (tmp_path / "hiveserver2.log").open("ab")
    return subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    """Stop a HiveServer2 started by start()."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def metastore_rows(settings, password: str, sql: str) -> list[tuple]:
    """Run SQL on production's metastore database; return its rows."""
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=settings.pg_port, user=PROD_USER, password=password,
                            dbname=PROD_DB)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()
