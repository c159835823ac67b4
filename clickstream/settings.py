"""Runtime settings read from the environment, with documented local defaults.

Every component (DAGs, Spark jobs, simulators, dashboard, the embedded stack)
reads its configuration through :func:`get_settings`, so the embedded runtime
and the production cluster differ only in environment variables. Each setting is
declared once, as a field of ``Settings`` (pydantic-settings: its type, default
and variable ``CLICKSTREAM_<FIELD>``); an invalid value names its variable.

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
| ``CLICKSTREAM_LIVE_PARTITION_MAX_FILES`` | ``100`` | a live table's hour partition is compacted past it |
| ``CLICKSTREAM_LIVE_COMPACTION_GRACE_S`` | ``600`` | seconds before the files a compaction replaced go |

The defaults are for local use only; production sets every value explicitly
(see docker-compose.yml).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import PrivateAttr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

SITES = ("shop", "news", "saas")
CLUSTERS = ("local", "yarn")
ENV_PREFIX = "CLICKSTREAM_"

# Ports given as "5001,5002,5003" (not JSON), parsed by _ports.
Ports = Annotated[tuple[int, ...], NoDecode]
# A default derived from other settings (or a file of the data directory) once they are known: _derive.
DERIVED = ""


def _installed_jars(module: str) -> str:
    """Return the jars `make install` copied for one jvm/ module, comma-separated (as --jars takes them)."""
    return ",".join(str(p) for p in sorted((REPO_ROOT / "jvm" / "lib" / module).glob("*.jar")))


class Settings(BaseSettings):
    """Resolved configuration of one runtime (embedded or production): one declaration per setting, read
    from ``CLICKSTREAM_<NAME>`` (pydantic-settings; an empty variable counts as unset)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True,
                                      extra="ignore")
    _repo_root: Path = PrivateAttr(default=REPO_ROOT)

    data_dir: Path = REPO_ROOT / "data"
    cluster: str = DERIVED  # the data directory's recorded mode (embedded/bootstrap.py), else "local"
    warehouse_uri: str = DERIVED
    broker_port: int = 9092
    kafka_bootstrap: str = DERIVED
    kafka_controller_port: int = 9093
    kafka_retention_hours: int = 168
    kafka_retention_mb: int = 512
    hive_host: str = "127.0.0.1"
    hive_port: int = 10000
    hive_database: str = "clickstream"
    # HiveServer2's user: set, clients log in with it and the secret CLICKSTREAM_HIVE_PASSWORD
    # (production, docs/decisions/production-authentication.md); empty, without a login (embedded).
    hive_user: str = ""
    airflow_port: int = 8080
    airflow_db: Literal["postgres", "sqlite"] = "postgres"
    airflow_api_url: str = DERIVED
    airflow_api_user: str = "admin"
    pg_port: int = 5433
    streamlit_port: int = 8501
    sim_ports: Ports = (5001, 5002, 5003)
    spark_master: str = DERIVED
    topic_events: str = "clickstream.events"
    topic_dlq: str = "clickstream.events.dlq"
    topic_alerts: str = "clickstream.alerts"
    events_partitions: int = 6
    smtp_port: int = 2525
    alert_email: str = "oncall@clickstream.localhost"
    alert_from: str = "airflow@clickstream.localhost"
    batch_start: str = DERIVED  # the data directory's batch_start file (embedded/bootstrap.py), else empty
    spark_jars: str = DERIVED
    # Cluster mode ships Python to YARN containers as production does (clickstream_airflow/spark.py).
    spark_archives: str = DERIVED
    spark_py_files: str = DERIVED
    spark_python: str = DERIVED
    raw_retention_days: int = 30
    namenode_port: int = 8020
    namenode_http_port: int = 9870
    datanode_ports: Ports = (9866, 9876)
    yarn_port: int = 8032
    yarn_scheduler_port: int = 8030
    yarn_tracker_port: int = 8031
    yarn_admin_port: int = 8033
    yarn_web_port: int = 8088
    webhdfs_url: str = DERIVED
    yarn_web_url: str = DERIVED
    # The Live page's store (PostgreSQL; docs/decisions/live-read-path.md); its password is the secret
    # CLICKSTREAM_LIVE_DB_PASSWORD (clickstream/secrets.py: a file or the value), never a setting.
    live_store_url: str = DERIVED
    # A live table's partition is compacted once it holds more files than this; the files it replaced are
    # deleted after the grace period (clickstream/streaming/compaction.py).
    live_partition_max_files: int = 100
    live_compaction_grace_s: int = 600

    @field_validator("data_dir")
    @classmethod
    def _resolved(cls, value: Path) -> Path:
        return value.resolve()

    @field_validator("sim_ports", "datanode_ports", mode="before")
    @classmethod
    def _ports(cls, value: object, info) -> object:
        if isinstance(value, str):
            value = tuple(int(p) for p in value.split(",") if p.strip())
        wanted = {"sim_ports": len(SITES), "datanode_ports": 2}[info.field_name]
        if len(value) != wanted:
            raise ValueError(f"needs {wanted} comma-separated ports, got {value}")
        return value

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, value: str) -> str:
        if value not in (DERIVED, *CLUSTERS):
            raise ValueError(f"must be one of {', '.join(CLUSTERS)}, got {value!r}")
        return value

    def _derived(self) -> dict[str, object]:
        """Return the values of the settings left to their derived defaults."""
        recorded = {name: self.data_dir / name for name in ("cluster", "batch_start")}
        cluster = self.cluster or (recorded["cluster"].read_text().strip() if recorded["cluster"].is_file()
                                   else "local")
        if cluster not in CLUSTERS:
            raise ValueError(f"{recorded['cluster']} must hold one of {', '.join(CLUSTERS)}, got {cluster!r}")
        on_yarn = cluster == "yarn"
        hdfs = f"hdfs://127.0.0.1:{self.namenode_port}"
        yarn = {"spark_archives": f"{hdfs}/apps/clickstream/jobenv.tar.gz#environment",
                "spark_py_files": str(self.data_dir / "run" / "clickstream.zip"),
                "spark_python": "./environment/bin/python"}
        defaults = {
            "cluster": cluster,
            "warehouse_uri": f"{hdfs}/warehouse" if on_yarn else (self.data_dir / "warehouse").as_uri(),
            "kafka_bootstrap": f"127.0.0.1:{self.broker_port}",
            "airflow_api_url": f"http://127.0.0.1:{self.airflow_port}",
            "spark_master": "yarn" if on_yarn else "local[*]",
            "batch_start": (recorded["batch_start"].read_text().strip() if recorded["batch_start"].is_file()
                            else ""),
            "spark_jars": _installed_jars("spark-kafka"),
            **(yarn if on_yarn else dict.fromkeys(yarn, "")),
            "webhdfs_url": f"http://127.0.0.1:{self.namenode_http_port}",
            "yarn_web_url": f"http://127.0.0.1:{self.yarn_web_port}",
            "live_store_url": f"postgresql://live@127.0.0.1:{self.pg_port}/live",
        }
        return {name: value for name, value in defaults.items() if getattr(self, name) == DERIVED}

    @property
    def repo_root(self) -> Path:
        """Where the code is: not a setting (a test runs an older release's copy: ``replace``)."""
        return self._repo_root

    def replace(self, **changes: object) -> Settings:
        """Return a copy with some values changed (not validated again, nothing derived again)."""
        root = changes.pop("repo_root", None)
        copy = self.model_copy(update=changes)
        if root is not None:
            copy._repo_root = Path(root)
        return copy

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


def load_settings() -> Settings:
    """Build settings from the current environment (uncached); an invalid value raises a ValueError that
    names its variable."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{env_name(str(e['loc'][0]))}: {e['msg']} (got {e.get('input')!r})"
                             for e in exc.errors())
        raise ValueError(f"invalid settings: {problems}") from None
    return settings.model_copy(update=settings._derived())


@cache
def get_settings() -> Settings:
    """Return the settings of this process, read once from the environment."""
    return load_settings()


def env_name(field_name: str) -> str:
    """Return the environment variable of a setting: ``CLICKSTREAM_`` and the field's name in capitals."""
    return f"{ENV_PREFIX}{field_name.upper()}"


def _env_value(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def settings_env(settings: Settings) -> dict[str, str]:
    """Serialise settings back to CLICKSTREAM_* variables for child processes: every field, by its name.

    What ``load_settings`` reads back as the same settings (tests/unit/test_settings.py round-trips every
    field with a value that is not its default).
    """
    return {env_name(name): _env_value(getattr(settings, name)) for name in Settings.model_fields}
