"""The long-running services of the embedded stack: how each is started, what it requires, how it is
checked (embedded/health_checks.py), and supervisord's configuration of them."""

from __future__ import annotations

import os
import pwd
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clickstream.settings import SITES, Settings
from embedded import hadoop, hadoop_status, hive_conf
from embedded.environment import VENV_BIN, load_secrets
from embedded.health_checks import (
    airflow_component,
    broker_healthy,
    hiveserver2_healthy,
    http_ok,
    port_open,
    smtp_healthy,
)
from embedded.kafka import broker_command
from embedded.spark_dist import spark_home


def postgres_bin() -> Path:
    """Return the directory of Debian's PostgreSQL server binaries."""
    root = Path("/usr/lib/postgresql")
    versions = sorted(root.glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError(
            "PostgreSQL server not found under /usr/lib/postgresql: run `make system-deps` "
            "(apt-get install postgresql): it holds HiveServer2's metastore and Airflow's metadata DB"
        )
    return versions[-1].parent


def postgres_user() -> str | None:
    """Return the OS user PostgreSQL runs as (it refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError("running as root needs the 'postgres' OS user") from exc
    return "postgres"


def _mail_cmd(s: Settings) -> list[str]:
    # aiosmtpd's Mailbox handler stores each message in a Maildir: data/mail/new/<id>.
    return [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{s.smtp_port}",
            "-c", "aiosmtpd.handlers.Mailbox", str(s.data_dir / "mail")]


@dataclass(frozen=True)
class Service:
    """One supervised process of the embedded stack."""

    name: str
    phase: int  # stop order: phase 2 (clients) stops before phase 1 (the services they use)
    command: Callable[[Settings], list[str]]
    healthy: Callable[[Settings], bool]
    url: Callable[[Settings], str] | None = None
    user: Callable[[], str | None] = lambda: None
    requires: tuple[str, ...] = ()  # services that must be healthy (and set up) before it starts
    after: tuple[str, ...] = ()  # services that must have been launched (their preparation done) first
    start_timeout: float = 120.0
    stop_wait: int = 20
    env: Callable[[Settings], dict[str, str]] = lambda _: {}  # what this process alone gets (its secrets)


def _postgres_cmd(s: Settings) -> list[str]:
    return [
        str(postgres_bin() / "postgres"),
        "-D", str(s.data_dir / "postgres"),
        "-p", str(s.pg_port),
        "-h", "127.0.0.1",
        "-k", str(s.run_dir),
    ]  # fmt: skip


METASTORE_PASSWORD_VAR = "HIVE_METASTORE_DB_PASSWORD"  # hive-site.xml reads it: ${env.…}


def _hiveserver2_cmd(s: Settings) -> list[str]:
    # Production's hive-site.xml (metastore in PostgreSQL) with this machine's addresses, written before
    # the start (embedded/hive_conf.py), and the JDBC driver. The metastore is the stack's PostgreSQL
    # server, database `metastore` (bootstrap.py).
    classpath = f"{hive_conf.conf_dir(s)}:{s.repo_root / 'jvm' / 'lib' / 'metastore'}/*"
    return [
        str(spark_home() / "bin" / "spark-submit"),
        "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        "--master", "local[1]",
        "--name", "clickstream-hiveserver2",
        # Query execution and the dashboard's and DAGs' sessions share this heap.
        "--driver-memory", "2g",
        "--driver-class-path", classpath,
        "--conf", f"spark.sql.warehouse.dir={s.warehouse_uri}",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.sql.shuffle.partitions=4",
        # The streaming tables get new files in the day's partition every micro-batch. Spark keeps a
        # partition's file listing per session: a connection kept open would see the first listing
        # for the rest of the day. No file-listing cache, so every query lists the files anew.
        "--conf", "spark.sql.hive.filesourcePartitionFileCacheSize=0",
        # The live tables' partitions are many small files (one a micro-batch): priced at Spark's default of
        # 4 MB to open, they were read 31 to a task; at 8 KB, all in one. The Live page's query over 362 such
        # files took 540 ms instead of 640 (docs/streaming.md, "Throughput and freshness").
        "--conf", "spark.sql.files.openCostInBytes=8192",
        # A partition filter the metastore cannot answer (a range on an INT key) is pruned by Spark from the
        # partitions' names instead of failing the query (docs/decisions/metastore-postgresql.md).
        "--conf", "spark.sql.hive.metastorePartitionPruningFallbackOnException=true",
        "--conf", "spark.sql.hive.metastorePartitionPruningFastFallback=true",
        "spark-internal",
    ]  # fmt: skip


def _airflow_cmd(component: str) -> Callable[[Settings], list[str]]:
    def cmd(_: Settings) -> list[str]:
        return [str(VENV_BIN / "airflow"), *component.split()]

    return cmd


def _streamlit_cmd(s: Settings) -> list[str]:
    return [
        str(VENV_BIN / "streamlit"), "run", str(s.repo_root / "dashboard" / "streamlit_app.py"),
        "--server.port", str(s.streamlit_port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def _site_cmd(site: str) -> Callable[[Settings], list[str]]:
    def cmd(s: Settings) -> list[str]:
        return [
            str(VENV_BIN / "gunicorn"),
            "--bind", f"127.0.0.1:{s.sites[site]}",
            "--workers", "1",
            "--threads", "8",
            "--name", f"clickstream-{site}",
            # Its exit hook stops the simulated users and flushes the ledger (simulators/gunicorn_conf.py).
            "--config", "python:simulators.gunicorn_conf",
            f"simulators.wsgi:create_app(site={site!r})",
        ]  # fmt: skip

    return cmd


def hadoop_services() -> list[Service]:
    """Return HDFS (a NameNode, two DataNodes) and YARN (a ResourceManager, a NodeManager): cluster mode."""
    services = [
        # Healthy once out of safe mode, which needs the DataNodes' block reports: they start right after it.
        Service("hdfs-namenode", 1, hadoop.daemon_command("namenode"), hadoop_status.namenode_healthy,
                url=lambda s: f"http://127.0.0.1:{s.namenode_http_port}", start_timeout=180),
    ]
    for index in range(1, hadoop.DATANODES + 1):
        services.append(Service(
            f"hdfs-datanode-{index}", 1, hadoop.daemon_command("datanode", index),
            hadoop_status.datanode_healthy(index), after=("hdfs-namenode",), start_timeout=180,
        ))
    services += [
        Service("yarn-resourcemanager", 1, hadoop.daemon_command("resourcemanager"),
                hadoop_status.resourcemanager_healthy,
                url=lambda s: f"http://127.0.0.1:{s.yarn_web_port}"),
        # Stopping it kills the containers it runs: the streaming application is stopped before (stack.down).
        Service("yarn-nodemanager", 1, hadoop.daemon_command("nodemanager"),
                hadoop_status.nodemanager_healthy, requires=("yarn-resourcemanager",)),
    ]
    return services


CLUSTER = ("hdfs-namenode", "yarn-nodemanager")  # what jobs and HiveServer2 need in cluster mode


def all_services(settings: Settings) -> list[Service]:
    """Return every service of the embedded stack, in start order."""
    services: list[Service] = hadoop_services() if settings.on_yarn else []
    cluster = CLUSTER if settings.on_yarn else ()
    metadb = ("postgres",) if settings.airflow_db == "postgres" else ()
    services += [
        # Airflow's metadata DB (unless CLICKSTREAM_AIRFLOW_DB=sqlite) and HiveServer2's metastore.
        Service("postgres", 1, _postgres_cmd, lambda s: port_open("127.0.0.1", s.pg_port),
                user=postgres_user),
        Service(
            "broker", 1, broker_command, broker_healthy,
            url=lambda s: f"kafka://{s.kafka_bootstrap}",
            # A controlled shutdown flushes and closes the log; killing it means recovery at start.
            stop_wait=30,
        ),
        Service(
            "mail", 1, _mail_cmd, smtp_healthy, url=lambda s: f"smtp://127.0.0.1:{s.smtp_port}",
        ),
        Service(
            "hiveserver2", 1, _hiveserver2_cmd, hiveserver2_healthy,
            url=lambda s: s.hive_jdbc_url, start_timeout=180, requires=("postgres", *cluster[:1]),
            env=lambda s: {METASTORE_PASSWORD_VAR: load_secrets(s)["metastore_password"]},
        ),
        Service(
            "airflow-api-server", 2, _airflow_cmd("api-server"),
            lambda s: http_ok(f"http://127.0.0.1:{s.airflow_port}/api/v2/monitor/health"),
            url=lambda s: f"http://127.0.0.1:{s.airflow_port}",
            requires=metadb,
        ),
        Service(
            # No log server (Airflow's listens on every interface, its host not configurable): the
            # api-server reads the task and trigger logs from the one log folder they share here.
            "airflow-scheduler", 2, _airflow_cmd("scheduler --skip-serve-logs"),
            airflow_component("scheduler"),
            # The streaming application reads the topics: nothing is scheduled before they exist. It
            # waits for HiveServer2 itself, so the scheduler need not. The scheduler does wait for the
            # api-server: started together on two cores, both took 40 s instead of 21 s and 31 s.
            requires=(*metadb, "airflow-api-server", "broker", *cluster),
        ),
        Service(
            "airflow-dag-processor", 2, _airflow_cmd("dag-processor"),
            airflow_component("dag_processor"),
            requires=(*metadb, "airflow-api-server"),
        ),
        Service(
            "airflow-triggerer", 2, _airflow_cmd("triggerer --skip-serve-logs"),
            airflow_component("triggerer"),
            requires=(*metadb, "airflow-api-server"),
        ),
        Service(
            "streamlit", 2, _streamlit_cmd,
            lambda s: http_ok(f"http://127.0.0.1:{s.streamlit_port}/_stcore/health"),
            url=lambda s: f"http://127.0.0.1:{s.streamlit_port}",
            requires=("hiveserver2",),
        ),
    ]  # fmt: skip
    for site in SITES:
        services.append(
            Service(
                f"site-{site}", 2, _site_cmd(site),
                lambda s, site=site: http_ok(f"http://127.0.0.1:{s.sites[site]}/healthz"),
                url=lambda s, site=site: f"http://127.0.0.1:{s.sites[site]}",
                requires=("broker",),
            )
        )  # fmt: skip
    return services


def supervisord_conf(settings: Settings, services: list[Service]) -> str:
    """Render supervisord's configuration for the given services."""
    run, logs = settings.run_dir, settings.log_dir
    lines = [
        "[unix_http_server]",
        f"file={run / 'supervisor.sock'}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={logs / 'supervisord.log'}",
        f"pidfile={run / 'supervisord.pid'}",
        f"directory={settings.repo_root}",
        "logfile_maxbytes=10MB",
        "logfile_backups=2",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{run / 'supervisor.sock'}",
        "",
    ]
    for svc in services:
        command = " ".join(shlex.quote(part) for part in svc.command(settings))
        lines += [
            f"[program:{svc.name}]",
            f"command={command.replace('%', '%%')}",
            "autostart=false",
            "autorestart=true",
            "startsecs=3",
            "startretries=5",
            "stopasgroup=true",
            "killasgroup=true",
            f"stopwaitsecs={svc.stop_wait}",
            "redirect_stderr=true",
            f"stdout_logfile={logs / (svc.name + '.log')}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=2",
        ]
        user = svc.user()
        if user:
            lines.append(f"user={user}")
        env = svc.env(settings)
        if env:
            lines.append("environment=" + ",".join(f'{k}="{v}"' for k, v in env.items()))
        lines.append("")
    return "\n".join(lines)
