"""Run HiveQL on HiveServer2 (PyHive): the one client the platform's code uses."""

from __future__ import annotations

import time

from tenacity import Retrying, stop_after_delay, wait_fixed

from clickstream.secrets import read_secret
from clickstream.settings import REPO_ROOT, Settings

PASSWORD_VAR = "CLICKSTREAM_HIVE_PASSWORD"  # a secret (clickstream/secrets.py), with settings.hive_user


def connect(settings: Settings, database: str | None = ""):
    """Open a HiveServer2 session (PyHive); database: the platform's by default, None for Hive's.

    With a user in the settings, it logs in with the secret password (HiveServer2's CUSTOM authentication,
    a SASL PLAIN exchange); without one, it connects without a login (the embedded runtime).
    """
    from pyhive import hive

    db = settings.hive_database if database == "" else database
    login = ({"auth": "CUSTOM", "username": settings.hive_user, "password": read_secret(PASSWORD_VAR)}
             if settings.hive_user else {"auth": "NONE"})
    return hive.connect(host=settings.hive_host, port=settings.hive_port, **login,
                        **({"database": db} if db else {}))


def execute(settings: Settings, *statements: str, database: str | None = "") -> list[tuple]:
    """Run statements in one session; return the rows of the last (empty if it returns none).

    ``database`` defaults to the platform's database; pass None for Hive's default.
    """
    conn = connect(settings, database)
    try:
        cur = conn.cursor()
        rows: list[tuple] = []
        for sql in statements:
            cur.execute(sql)
            rows = cur.fetchall() if cur.description else []
        return rows
    finally:
        conn.close()


def create_database_sql(settings: Settings) -> str:
    """Return the idempotent DDL of the platform's Hive database, over its warehouse location."""
    return (f"CREATE DATABASE IF NOT EXISTS {settings.hive_database} "
            f"LOCATION '{settings.warehouse_uri.rstrip('/')}/{settings.hive_database}'")


def wait_until_answering(settings: Settings, timeout_s: float) -> float:
    """Wait until HiveServer2 runs a query; return the seconds waited, or raise the last error.

    For a client that starts together with HiveServer2 (the streaming application after `make run`):
    a connection refused while HiveServer2 starts is waited out instead of failing the client.
    """
    started = time.monotonic()
    # Any error (refused, reset, not ready) means "not yet"; the last one is raised after timeout_s.
    for attempt in Retrying(stop=stop_after_delay(timeout_s), wait=wait_fixed(1), reraise=True):
        with attempt:
            execute(settings, "SELECT 1", database=None)
    return time.monotonic() - started


HQL_DIR = REPO_ROOT / "include" / "hql"


def hql_macros(settings: Settings) -> dict:
    """Return the names the HQL files use besides Airflow's own (DAGs pass them as user_defined_macros).

    The tables come from the catalog (clickstream/catalog.py): their DDL, and which the daily job writes.
    """
    from clickstream import catalog

    return {"clickstream_db": settings.hive_database, "warehouse_uri": settings.warehouse_uri.rstrip("/"),
            "batch_tables_ddl": catalog.batch_tables_ddl(settings),
            "hourly_tables": catalog.names(catalog.HOURLY), "daily_tables": catalog.names(catalog.DAILY)}


def render_hql(name: str, settings: Settings, **context: object) -> str:
    """Render one include/hql file as Airflow would, with the platform's macros and the given context."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string((HQL_DIR / name).read_text()).render(**hql_macros(settings), **context)


def split_statements(hql: str) -> list[str]:
    """Split rendered HQL into statements (no ';' inside string literals in this project's files)."""
    lines = [line for line in hql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    """``python -m clickstream.hive {ping,create-database}``: the production cluster's healthcheck and
    hive-init (docker-compose.yml), against HiveServer2 as the settings name it."""
    import argparse

    from clickstream.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m clickstream.hive", description=main.__doc__)
    parser.add_argument("command", choices=("ping", "create-database"))
    parser.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                        help="wait this long for HiveServer2 to answer first")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.wait:
        wait_until_answering(settings, args.wait)
    if args.command == "ping":
        execute(settings, "SELECT 1", database=None)
    else:
        execute(settings, create_database_sql(settings), database=None)
        location = f"{settings.warehouse_uri.rstrip('/')}/{settings.hive_database}"
        print(f"database {settings.hive_database} at {location}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
