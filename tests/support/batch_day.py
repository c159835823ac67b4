"""One generated past day of the three sites, archived and built by the batch DAGs, in private names.

The warehouse tests (the batch DAGs' end-to-end tests and the dashboard's) share it: its own
topic, warehouse and Hive database are set in the environment, as a deployment would set them,
so the streaming tests' exact checks over the shared ones are not disturbed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from confluent_kafka import Producer

from bench.load import site_events
from clickstream.hive import execute
from clickstream.settings import REPO_ROOT, get_settings
from clickstream.topics import ensure_topics

DAY = date(2026, 11, 2)  # a fixed past day: the generated data, and so the tests, never change
MIDNIGHT = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
EVENTS = 4500
# The seed's day ends with more than one visitor in its last 15 minutes (two browsers and operating
# systems, 14 page transitions): the Live page's top lists have something to rank.
SEED = "batch-e2e-2"


def private_env(tmp_root) -> dict[str, str]:
    """The environment that points every component at the day's own topic, warehouse and database."""
    return {
        "CLICKSTREAM_HIVE_DATABASE": "batch_e2e",
        "CLICKSTREAM_WAREHOUSE_URI": (tmp_root / "warehouse").as_uri(),
        "CLICKSTREAM_TOPIC_EVENTS": "batch_e2e.events",
        # Tasks of runs before the DAGs' start date are not created, and `make run` writes one.
        "CLICKSTREAM_BATCH_START": f"{DAY - timedelta(days=1):%Y-%m-%d}T00:00:00+00:00",
        # No Airflow API for the dashboard (port 9, discard): its pages must say so, whether or not
        # an earlier test left the stack's api-server running with its own DAG runs.
        "CLICKSTREAM_AIRFLOW_API_URL": "http://127.0.0.1:9",
    }


def archive_days(settings, seeds: dict[date, str], events: int) -> None:
    """Produce the days' events (``events`` a day, each day from its own seed: a seed fixes the event ids)
    to the private topic and let the streaming job archive them."""
    from tests.support.streaming_job import failure, run_job

    ensure_topics(settings)
    execute(settings, f"CREATE DATABASE IF NOT EXISTS {settings.hive_database}", database=None)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 20})
    for day, seed in seeds.items():
        for event in site_events(day, events, seed):
            producer.produce(settings.topic_events, key=event["session_id"].encode(),
                             value=orjson.dumps(event))
            producer.poll(0)
    assert producer.flush(30) == 0
    job = run_job(settings, "--mode", "available-now")
    assert job.returncode == 0, failure(job)


def run_dag(dag_id: str, logical_date: datetime, mark_success_pattern: str | None = None,
            retries: int | None = None, run_conf: dict | None = None):
    """Parse the DAG afresh and dag.test() it for the interval that ends at logical_date."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / f"{dag_id}.py"))
    assert bag.import_errors == {}
    if retries is not None:
        for task in bag.dags[dag_id].tasks:
            task.retries = retries
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    return bag.dags[dag_id].test(logical_date=logical_date, mark_success_pattern=mark_success_pattern,
                                 run_conf=run_conf)


def states(run) -> dict[str, str]:
    """Each task's final state in a DAG run."""
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def content_hash(settings, table: str, where: str) -> str:
    """A hash of a table's rows (sorted), to compare a partition before and after a rerun."""
    rows = sorted(repr(r) for r in execute(settings, f"SELECT * FROM {table} WHERE {where}"))
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def build_hours(settings) -> None:
    """Run the hourly job once over the whole day and register its 24 partitions, as 24 runs would."""
    from embedded.build import build_hours as build

    build(settings, MIDNIGHT, MIDNIGHT + timedelta(days=1), timeout=600)


@pytest.fixture(scope="session")
def archived_day(broker, hiveserver2, airflow_db, tmp_path_factory):
    """The day, archived by the streaming job; yields the settings of its private names."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in private_env(tmp_path_factory.mktemp("batch")).items():
            env.setenv(name, value)
        get_settings.cache_clear()  # the DAG files read settings when parsed
        settings = get_settings()
        archive_days(settings, {DAY: SEED}, EVENTS)
        yield settings
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def daily_run(archived_day):
    """The day's first clickstream_daily run (dag.test), as {task: state}."""
    return states(run_dag("clickstream_daily", MIDNIGHT + timedelta(days=1)))


@pytest.fixture(scope="session")
def built_day(archived_day, daily_run):
    """The day with every hourly and daily table and report built; yields its settings."""
    assert set(daily_run.values()) == {"success"}, daily_run
    build_hours(archived_day)
    return archived_day
