"""Runtime settings read from the environment, with documented local defaults.

Every component (DAGs, Spark jobs, simulators, dashboard, the embedded stack)
reads its configuration through :func:`get_settings`, so the embedded runtime
and the production cluster differ only in environment variables.

| variable | default | meaning |
|---|---|---|
| ``CLICKSTREAM_DATA_DIR`` | ``<repo>/data`` | embedded stack state: logs, PIDs, metastore, warehouse |
| ``CLICKSTREAM_CLUSTER`` | ``local`` | ``local``: Spark ``local[*]``, files; ``yarn``: HDFS + YARN |
| ``CLICKSTREAM_WAREHOUSE_URI`` | ``file://<data dir>/warehouse`` | root of every Hive table (HDFS on yarn) |
| ``CLICKSTREAM_NAMENODE_PORT`` | ``8020`` | HDFS NameNode RPC (cluster mode) |
| ``CLICKSTREAM_NAMENODE_HTTP_PORT`` | ``9870`` | its web UI and WebHDFS |
| ``CLICKSTREAM_DATANODE_PORTS`` | ``9866,9876`` | the two DataNodes' data transfer ports (cluster mode) |
| ``CLICKSTREAM_YARN_PORT`` | ``8032`` | YARN ResourceManager RPC (cluster mode) |
| ``CLICKSTREAM_YARN_WEB_PORT`` | ``8088`` | its web UI and REST API |
| ``CLICKSTREAM_YARN_SCHEDULER_PORT`` … | ``8030``, ``8031``, ``8033`` | its scheduler, tracker, admin |
| ``CLICKSTREAM_WEBHDFS_URL`` | ``http://127.0.0.1:<namenode http>`` | how Python reaches ``hdfs://`` |
| ``CLICKSTREAM_YARN_WEB_URL`` | ``http://127.0.0.1:<yarn web>`` | ResourceManager API (cluster health) |
| ``CLICKSTREAM_KAFKA_BOOTSTRAP`` | ``127.0.0.1:<broker port>`` | Kafka bootstrap servers |
| ``CLICKSTREAM_BROKER_PORT`` | ``9092`` | port of the embedded broker (Apache Kafka) |
| ``CLICKSTREAM_KAFKA_CONTROLLER_PORT`` | ``9093`` | its KRaft controller listener |
| ``CLICKSTREAM_KAFKA_RETENTION_HOURS`` | ``168`` | embedded broker: hours a record is kept |
| ``CLICKSTREAM_KAFKA_RETENTION_MB`` | ``512`` | embedded broker: MB kept per partition at most |
| ``CLICKSTREAM_HIVE_HOST`` / ``CLICKSTREAM_HIVE_PORT`` | ``127.0.0.1`` / ``10000`` | HiveServer2 |
| ``CLICKSTREAM_HIVE_DATABASE`` | ``clickstream`` | the one Hive database |
| ``CLICKSTREAM_AIRFLOW_PORT`` | ``8080`` | Airflow api-server |
| ``CLICKSTREAM_AIRFLOW_DB`` | ``postgres`` | embedded Airflow metadata DB: ``postgres`` or ``sqlite`` |
| ``CLICKSTREAM_PG_PORT`` | ``5433`` | embedded PostgreSQL (off the default 5432 to avoid a system cluster) |
| ``CLICKSTREAM_STREAMLIT_PORT`` | ``8501`` | dashboard |
| ``CLICKSTREAM_SIM_PORTS`` | ``5001,5002,5003`` | the three simulated sites (shop, news, saas) |
| ``CLICKSTREAM_SPARK_MASTER`` | ``local[*]`` (``yarn`` on yarn) | master of spark-submit, embedded runtime |
| ``CLICKSTREAM_TOPIC_EVENTS`` | ``clickstream.events`` | main events topic (6 partitions, keyed by session) |
| ``CLICKSTREAM_TOPIC_DLQ`` | ``clickstream.events.dlq`` | rejected events with their reason |
| ``CLICKSTREAM_TOPIC_ALERTS`` | ``clickstream.alerts`` | real-time and DAG-failure alerts |
| ``CLICKSTREAM_EVENTS_PARTITIONS`` | ``6`` | partitions of the events topic |
| ``CLICKSTREAM_SMTP_PORT`` | ``2525`` | embedded mail sink (``smtp_default``), mail in ``data/mail/`` |
| ``CLICKSTREAM_ALERT_EMAIL`` | ``oncall@clickstream.localhost`` | who gets DAG-failure emails |
| ``CLICKSTREAM_ALERT_FROM`` | ``airflow@clickstream.localhost`` | sender of DAG-failure emails |
| ``CLICKSTREAM_AIRFLOW_API_URL`` | ``http://127.0.0.1:<airflow port>`` | Airflow REST API (dashboard) |
| ``CLICKSTREAM_AIRFLOW_API_USER`` | ``admin`` | the dashboard's API user (``…_API_PASSWORD``) |
| ``CLICKSTREAM_SPARK_JARS`` | the jars in ``<repo>/jvm/lib/spark-kafka`` | Spark jobs' extra jars |
| ``CLICKSTREAM_SPARK_ARCHIVES`` … | empty | what jobs carry to YARN (plugins/clickstream_airflow/spark.py) |
| ``CLICKSTREAM_BATCH_START`` | ``<data dir>/batch_start`` | hourly/daily DAGs catch up from this ISO time |
| ``CLICKSTREAM_RAW_RETENTION_DAYS`` | ``30`` | days of raw_events and bad_events kept (retention DAG) |

The defaults are for local use only; production sets every value explicitly
(see docker-compose.yml).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

SITES = ("shop", "news", "saas")
CLUSTERS = ("local", "yarn")


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _ports(name: str, default: str, n: int) -> tuple[int, ...]:
    raw = _env(name, default)
    try:
        ports = tuple(int(p) for p in raw.split(",") if p.strip())
    except ValueError as exc:
        raise ValueError(f"{name} must be {n} comma-separated ports, got {raw!r}") from exc
    if len(ports) != n:
        raise ValueError(f"{name} needs {n} ports, got {ports}")
    return ports


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one runtime (embedded or production)."""

    data_dir: Path
    warehouse_uri: str
    kafka_bootstrap: str
    broker_port: int
    hive_host: str
    hive_port: int
    hive_database: str
    airflow_port: int
    airflow_db: str
    pg_port: int
    streamlit_port: int
    sim_ports: tuple[int, ...]
    spark_master: str
    topic_events: str
    topic_dlq: str
    topic_alerts: str
    events_partitions: int
    smtp_port: int = 2525
    kafka_controller_port: int = 9093
    kafka_retention_hours: int = 168
    kafka_retention_mb: int = 512
    alert_email: str = "oncall@clickstream.localhost"
    alert_from: str = "airflow@clickstream.localhost"
    batch_start: str = ""
    airflow_api_url: str = ""
    airflow_api_user: str = "admin"
    spark_jars: str = ""
    spark_archives: str = ""
    spark_py_files: str = ""
    spark_python: str = ""
    raw_retention_days: int = 30
    cluster: str = "local"
    namenode_port: int = 8020
    namenode_http_port: int = 9870
    datanode_ports: tuple[int, ...] = (9866, 9876)
    yarn_port: int = 8032
    yarn_scheduler_port: int = 8030
    yarn_tracker_port: int = 8031
    yarn_admin_port: int = 8033
    yarn_web_port: int = 8088
    webhdfs_url: str = ""
    yarn_web_url: str = ""
    # The Live page's store (PostgreSQL; docs/decisions/live-read-path.md); its password is the secret
    # CLICKSTREAM_LIVE_DB_PASSWORD (clickstream/secrets.py: a file or the value), never a setting.
    live_store_url: str = ""
    # HiveServer2's user: set, clients log in with it and the secret CLICKSTREAM_HIVE_PASSWORD
    # (production, docs/decisions/production-authentication.md); empty, without a login (embedded).
    hive_user: str = ""
    repo_root: Path = field(default=REPO_ROOT)  # where the code is, not a setting (NOT_FROM_ENV)

    @property
    def on_yarn(self) -> bool:
        """Whether the embedded runtime runs HDFS and YARN (cluster mode)."""
        return self.cluster == "yarn"

    @property
    def run_dir(self) -> Path:
        """Directory of supervisord's config, socket and PID files."""
        return self.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        """The one directory holding every service's log."""
        return self.data_dir / "logs"

    @property
    def airflow_home(self) -> Path:
        """AIRFLOW_HOME of the embedded stack."""
        return self.data_dir / "airflow"

    @property
    def hive_jdbc_url(self) -> str:
        """JDBC URL of HiveServer2, as beeline takes it."""
        return f"jdbc:hive2://{self.hive_host}:{self.hive_port}/{self.hive_database}"

    @property
    def sites(self) -> dict[str, int]:
        """Map each simulated site to its port."""
        return dict(zip(SITES, self.sim_ports, strict=True))

    def table_path(self, table: str) -> str:
        """Return the warehouse location of one Hive table."""
        return f"{self.warehouse_uri.rstrip('/')}/{self.hive_database}/{table}"

    def checkpoint_path(self, query: str) -> str:
        """Return the checkpoint location of one streaming query."""
        return f"{self.warehouse_uri.rstrip('/')}/_checkpoints/{query}"

    @property
    def streaming_control_uri(self) -> str:
        """The streaming application's control directory: where it runs, and stop requests (lifecycle.py)."""
        return f"{self.warehouse_uri.rstrip('/')}/_control/streaming"


NOT_FROM_ENV = frozenset({"repo_root"})


def _installed_jars(module: str) -> str:
    """Return the jars `make install` copied for one jvm/ module, comma-separated (as --jars takes them)."""
    return ",".join(str(p) for p in sorted((REPO_ROOT / "jvm" / "lib" / module).glob("*.jar")))


def load_settings() -> Settings:
    """Build settings from the current environment (uncached)."""
    data_dir = Path(_env("CLICKSTREAM_DATA_DIR", str(REPO_ROOT / "data"))).resolve()
    broker_port = _int("CLICKSTREAM_BROKER_PORT", 9092)
    sim_ports = _ports("CLICKSTREAM_SIM_PORTS", "5001,5002,5003", len(SITES))
    airflow_db = _env("CLICKSTREAM_AIRFLOW_DB", "postgres")
    if airflow_db not in ("postgres", "sqlite"):
        raise ValueError(f"CLICKSTREAM_AIRFLOW_DB must be postgres or sqlite, got {airflow_db!r}")
    epoch_file = data_dir / "batch_start"
    batch_start = _env("CLICKSTREAM_BATCH_START",
                       epoch_file.read_text().strip() if epoch_file.is_file() else "")
    airflow_port = _int("CLICKSTREAM_AIRFLOW_PORT", 8080)
    # A data directory keeps the mode it was created in (embedded/bootstrap.py records it), so that
    # `make status` and `make stop` after `make run CLUSTER=yarn` need no variable.
    mode_file = data_dir / "cluster"
    cluster = _env("CLICKSTREAM_CLUSTER", mode_file.read_text().strip() if mode_file.is_file() else "local")
    if cluster not in CLUSTERS:
        raise ValueError(f"CLICKSTREAM_CLUSTER must be one of {', '.join(CLUSTERS)}, got {cluster!r}")
    namenode_port = _int("CLICKSTREAM_NAMENODE_PORT", 8020)
    namenode_http_port = _int("CLICKSTREAM_NAMENODE_HTTP_PORT", 9870)
    on_yarn = cluster == "yarn"
    hdfs = f"hdfs://127.0.0.1:{namenode_port}"
    warehouse = f"{hdfs}/warehouse" if on_yarn else (data_dir / "warehouse").as_uri()
    yarn = {"archives": f"{hdfs}/apps/clickstream/jobenv.tar.gz#environment",
            "py_files": str(data_dir / "run" / "clickstream.zip"), "python": "./environment/bin/python"}
    if not on_yarn:
        yarn = dict.fromkeys(yarn, "")
    return Settings(
        cluster=cluster,
        namenode_port=namenode_port,
        namenode_http_port=namenode_http_port,
        datanode_ports=_ports("CLICKSTREAM_DATANODE_PORTS", "9866,9876", 2),
        yarn_port=_int("CLICKSTREAM_YARN_PORT", 8032),
        yarn_scheduler_port=_int("CLICKSTREAM_YARN_SCHEDULER_PORT", 8030),
        yarn_tracker_port=_int("CLICKSTREAM_YARN_TRACKER_PORT", 8031),
        yarn_admin_port=_int("CLICKSTREAM_YARN_ADMIN_PORT", 8033),
        yarn_web_port=_int("CLICKSTREAM_YARN_WEB_PORT", 8088),
        webhdfs_url=_env("CLICKSTREAM_WEBHDFS_URL", f"http://127.0.0.1:{namenode_http_port}"),
        yarn_web_url=_env("CLICKSTREAM_YARN_WEB_URL",
                          f"http://127.0.0.1:{_int('CLICKSTREAM_YARN_WEB_PORT', 8088)}"),
        batch_start=batch_start,
        airflow_api_url=_env("CLICKSTREAM_AIRFLOW_API_URL", f"http://127.0.0.1:{airflow_port}"),
        airflow_api_user=_env("CLICKSTREAM_AIRFLOW_API_USER", "admin"),
        spark_jars=_env("CLICKSTREAM_SPARK_JARS", _installed_jars("spark-kafka")),
        # Cluster mode ships Python to YARN containers as production does (clickstream_airflow/spark.py).
        spark_archives=_env("CLICKSTREAM_SPARK_ARCHIVES", yarn["archives"]),
        spark_py_files=_env("CLICKSTREAM_SPARK_PY_FILES", yarn["py_files"]),
        spark_python=_env("CLICKSTREAM_SPARK_PYTHON", yarn["python"]),
        live_store_url=_env("CLICKSTREAM_LIVE_STORE_URL",
                            f"postgresql://live@127.0.0.1:{_int('CLICKSTREAM_PG_PORT', 5433)}/live"),
        data_dir=data_dir,
        warehouse_uri=_env("CLICKSTREAM_WAREHOUSE_URI", warehouse),
        kafka_bootstrap=_env("CLICKSTREAM_KAFKA_BOOTSTRAP", f"127.0.0.1:{broker_port}"),
        broker_port=broker_port,
        hive_host=_env("CLICKSTREAM_HIVE_HOST", "127.0.0.1"),
        hive_port=_int("CLICKSTREAM_HIVE_PORT", 10000),
        hive_database=_env("CLICKSTREAM_HIVE_DATABASE", "clickstream"),
        hive_user=_env("CLICKSTREAM_HIVE_USER", ""),
        airflow_port=airflow_port,
        airflow_db=airflow_db,
        pg_port=_int("CLICKSTREAM_PG_PORT", 5433),
        streamlit_port=_int("CLICKSTREAM_STREAMLIT_PORT", 8501),
        sim_ports=sim_ports,
        spark_master=_env("CLICKSTREAM_SPARK_MASTER", "yarn" if on_yarn else "local[*]"),
        topic_events=_env("CLICKSTREAM_TOPIC_EVENTS", "clickstream.events"),
        topic_dlq=_env("CLICKSTREAM_TOPIC_DLQ", "clickstream.events.dlq"),
        topic_alerts=_env("CLICKSTREAM_TOPIC_ALERTS", "clickstream.alerts"),
        events_partitions=_int("CLICKSTREAM_EVENTS_PARTITIONS", 6),
        smtp_port=_int("CLICKSTREAM_SMTP_PORT", 2525),
        kafka_controller_port=_int("CLICKSTREAM_KAFKA_CONTROLLER_PORT", 9093),
        kafka_retention_hours=_int("CLICKSTREAM_KAFKA_RETENTION_HOURS", 168),
        kafka_retention_mb=_int("CLICKSTREAM_KAFKA_RETENTION_MB", 512),
        alert_email=_env("CLICKSTREAM_ALERT_EMAIL", "oncall@clickstream.localhost"),
        alert_from=_env("CLICKSTREAM_ALERT_FROM", "airflow@clickstream.localhost"),
        raw_retention_days=_int("CLICKSTREAM_RAW_RETENTION_DAYS", 30),
    )


@cache
def get_settings() -> Settings:
    """Return the settings of this process, read once from the environment."""
    return load_settings()


def env_name(field_name: str) -> str:
    """Return the environment variable of a setting: ``CLICKSTREAM_`` and the field's name in capitals."""
    return f"CLICKSTREAM_{field_name.upper()}"


def _env_value(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def settings_env(settings: Settings) -> dict[str, str]:
    """Serialise settings back to CLICKSTREAM_* variables for child processes: every field, by its name.

    What ``load_settings`` reads back as the same settings (tests/unit/test_settings.py round-trips every
    field with a value that is not its default).
    """
    return {env_name(f.name): _env_value(getattr(settings, f.name))
            for f in fields(Settings) if f.name not in NOT_FROM_ENV}
