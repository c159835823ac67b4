"""What the embedded stack does around a service's start: before its process starts (the first start of a
data directory, mostly) and once it answers (what it holds for the platform). One hook per service name;
a service without one has nothing to prepare."""

from __future__ import annotations

from collections.abc import Callable

from clickstream.settings import Settings
from clickstream.topics import ensure_topics
from embedded import bootstrap, hadoop, hive_conf, kafka, metastore_upgrade


class HookError(RuntimeError):
    """A hook failed; the message names the service and is fit to show."""


def _broker(s: Settings) -> None:
    try:
        kafka.prepare(s)
    except kafka.KafkaSetupError as exc:
        raise HookError(f"broker: {exc}") from exc


def _hiveserver2(s: Settings) -> None:
    hive_conf.write_conf(s)
    try:
        bootstrap.check_metastore_database(s)
    except bootstrap.MetastoreUnavailable as exc:
        raise HookError(f"hiveserver2: {exc}") from exc


def _scheduler(s: Settings) -> None:
    if s.on_yarn:  # what the jobs ship to YARN containers
        hadoop.build_py_files(s)
        hadoop.publish_jobenv(s)


BEFORE_START: dict[str, Callable[[Settings], None]] = {
    "postgres": bootstrap.init_postgres,
    "broker": _broker,
    "hiveserver2": _hiveserver2,
    "airflow-api-server": bootstrap.migrate_airflow,  # the first Airflow process: its metadata DB first
    "airflow-scheduler": _scheduler,
}


def _postgres_ready(s: Settings) -> None:
    bootstrap.create_metastore_database(s)
    bootstrap.create_live_database(s)
    if s.airflow_db == "postgres":
        bootstrap.create_airflow_database(s)


def _hiveserver2_ready(s: Settings) -> None:
    bootstrap.create_hive_database(s)
    try:  # once: a data directory from before the PostgreSQL metastore
        metastore_upgrade.register_derby_tables(s)
    except RuntimeError as exc:
        raise HookError(f"hiveserver2: {exc}") from exc


AFTER_HEALTHY: dict[str, Callable[[Settings], None]] = {
    "postgres": _postgres_ready,
    "broker": ensure_topics,
    "hiveserver2": _hiveserver2_ready,
}


def before_start(name: str, settings: Settings) -> None:
    """Prepare what a service needs before its process starts."""
    hook = BEFORE_START.get(name)
    if hook is not None:
        hook(settings)


def after_healthy(name: str, settings: Settings) -> None:
    """Create what a service holds for the platform, once it answers."""
    hook = AFTER_HEALTHY.get(name)
    if hook is not None:
        hook(settings)
