"""Environment of the embedded stack: CLICKSTREAM_*, AIRFLOW__* and AIRFLOW_CONN_* variables.

Production sets the same variables in docker-compose.yml; here they are
derived from :class:`~clickstream.settings.Settings` and a few secrets
generated on first start into ``<data dir>/run/secrets.json`` (mode 600,
never committed).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet

from clickstream.settings import Settings, settings_env
from clickstream.streaming.live_store import PASSWORD_VAR as LIVE_PASSWORD_VAR
from embedded.spark_dist import spark_base_env
from ops.airflow_api import AirflowApi

VENV_BIN = Path(sys.executable).parent


def load_secrets(settings: Settings) -> dict[str, str]:
    """Return the stack's generated secrets, creating on first use any that the file lacks."""
    path = settings.run_dir / "secrets.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    makers = {
        "jwt_secret": lambda: secrets.token_urlsafe(32),
        "api_secret_key": lambda: secrets.token_urlsafe(32),
        "fernet_key": lambda: Fernet.generate_key().decode(),
        "postgres_password": lambda: secrets.token_urlsafe(24),
        # The metastore's database user `hive` (added after the others: a data directory from before gets it).
        "metastore_password": lambda: secrets.token_urlsafe(24),
        "live_password": lambda: secrets.token_urlsafe(24),  # the Live page's store, user `live`
    }
    missing = {name: make() for name, make in makers.items() if name not in values}
    if not missing:
        return values
    values.update(missing)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    staged = path.with_suffix(".new")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh)
    staged.replace(path)
    return values


def airflow_admin_password(settings: Settings) -> str:
    """Return the Airflow admin's password, writing Airflow's passwords file on first use.

    Like production (airflow-init creates the admin from its secret), the runtime sets the password
    rather than letting the api-server generate one, so that every client gets it from the environment
    (CLICKSTREAM_AIRFLOW_API_PASSWORD). A file the api-server wrote before
    (a data directory from an older version) is kept.
    """
    path = settings.airflow_home / "passwords.json"
    if path.is_file():
        password = json.loads(path.read_text()).get(settings.airflow_api_user)
        if password:
            return password
    password = secrets.token_urlsafe(16)
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({settings.airflow_api_user: password}, fh)
    tmp.replace(path)
    return password


def stack_api(settings: Settings) -> AirflowApi:
    """Return the Airflow REST API of the embedded stack, logged in as its admin."""
    # The stack's own calls come while it starts or stops, when the api-server may be slow to answer.
    return AirflowApi(settings.airflow_api_url, settings.airflow_api_user, airflow_admin_password(settings),
                      timeout=30)


def airflow_connections(settings: Settings) -> dict[str, str]:
    """Return the AIRFLOW_CONN_* variables of the embedded runtime."""
    spark = {"conn_type": "spark", "host": settings.spark_master}
    if settings.spark_master == "yarn":  # cluster mode: as production submits (docker-compose.yml)
        spark["extra"] = {"deploy-mode": "cluster", "queue": "default",
                          "yarn_resourcemanager_webapp_address": f"http://127.0.0.1:{settings.yarn_web_port}"}
    conns = {
        "spark_default": spark,
        "hive_cli_default": {
            "conn_type": "hive_cli",
            "host": settings.hive_host,
            "port": settings.hive_port,
            "schema": settings.hive_database,
            "extra": {"use_beeline": True},
        },
        "hiveserver2_default": {
            "conn_type": "hiveserver2",
            "host": settings.hive_host,
            "port": settings.hive_port,
            "schema": settings.hive_database,
            "extra": {"auth_mechanism": "NONE"},
        },
        "kafka_default": {
            "conn_type": "kafka",
            "extra": {"bootstrap.servers": settings.kafka_bootstrap},
        },
        # The embedded mail sink (service "mail"): every alert email lands in data/mail/.
        "smtp_default": {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": settings.smtp_port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": settings.alert_from,
                      "timeout": 10, "retry_limit": 2},
        },
    }
    for site, port in settings.sites.items():
        conns[f"sim_{site}"] = {"conn_type": "http", "host": "127.0.0.1", "port": port,
                                "schema": "http"}
    return {f"AIRFLOW_CONN_{cid.upper()}": json.dumps(c) for cid, c in conns.items()}


def metadata_db_uri(settings: Settings) -> str:
    """Return the SQLAlchemy URI of Airflow's metadata DB."""
    if settings.airflow_db == "sqlite":
        return f"sqlite:///{settings.airflow_home / 'airflow.db'}"
    password = load_secrets(settings)["postgres_password"]
    return f"postgresql+psycopg2://airflow:{password}@127.0.0.1:{settings.pg_port}/airflow"


def airflow_env(settings: Settings) -> dict[str, str]:
    """Return the AIRFLOW__* configuration of the embedded Airflow processes."""
    sec = load_secrets(settings)
    api = f"http://127.0.0.1:{settings.airflow_port}"
    home = settings.airflow_home
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": os.environ.get(
            "CLICKSTREAM_DAGS_FOLDER", str(settings.repo_root / "dags")
        ),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.repo_root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # Two cores: a handful of concurrent tasks keeps Spark jobs from starving.
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("CLICKSTREAM_AIRFLOW_PARALLELISM", "6"),
        "AIRFLOW__CORE__FERNET_KEY": sec["fernet_key"],
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db_uri(settings),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": sec["api_secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.log_dir / "airflow"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        # Its health server listens on every interface unless told (Airflow's default host 0.0.0.0).
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        **airflow_connections(settings),
    }


def spark_env(current: Mapping[str, str]) -> dict[str, str]:
    """The variables spark-submit and pyspark need here, given the environment they extend.

    The wheel's Spark, this virtualenv's Python on both sides, loopback, and SPARK_SUBMIT_OPTS with
    the JVM class archive of embedded.cds once it is built (added once).
    """
    from embedded.cds import submit_opts  # imports nothing of the stack's: no cycle

    opts, archive = current.get("SPARK_SUBMIT_OPTS", ""), submit_opts()
    if archive and archive not in opts:
        opts = f"{opts} {archive}".strip()
    return {**spark_base_env(current), "SPARK_SUBMIT_OPTS": opts}


def stack_env(settings: Settings) -> dict[str, str]:
    """Return the full environment every process of the embedded stack runs with."""
    env = dict(os.environ)
    env.update(settings_env(settings))
    env.update(airflow_env(settings))
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(spark_env(env))
    env["PYTHONPATH"] = str(settings.repo_root)
    env["CLICKSTREAM_AIRFLOW_API_PASSWORD"] = airflow_admin_password(settings)
    env[LIVE_PASSWORD_VAR] = load_secrets(settings)["live_password"]
    if settings.on_yarn:  # HADOOP_CONF_DIR, JAVA_HOME, SPARK_CONF_DIR; `hdfs` and `yarn` on the PATH
        from embedded import hadoop, hadoop_conf

        env.update(hadoop.client_env(settings))
        env["PATH"] = f"{hadoop_conf.home(settings) / 'bin'}{os.pathsep}{env['PATH']}"
    return env
