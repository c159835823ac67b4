"""Cluster mode (CLICKSTREAM_CLUSTER=yarn): the batch DAGs' Spark tasks on YARN over HDFS, replication 2.

HDFS and YARN are Hadoop's own daemons (embedded/hadoop.py) in a data directory of their own; the
DAGs' SparkSubmitOperator tasks submit to them in cluster deploy mode, as production's do, shipping
the jobs' packed Python environment from HDFS and the library as --py-files. Their output is compared
with the same day built in local mode (the warehouse tests' day), row for row.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import orjson
import psutil
import pyarrow.dataset as ds
import pytest
import streamlit as st
from confluent_kafka import Producer
from streamlit.testing.v1 import AppTest

from bench.load import site_events
from clickstream import catalog, storage
from clickstream.hive import create_database_sql, execute
from clickstream.settings import REPO_ROOT, get_settings
from clickstream.topics import ensure_topics
from embedded import hadoop, hadoop_status, streaming_app
from embedded.polling import wait_for
from embedded.stack import Stack
from ops import cluster_health
from tests.support.batch_day import DAY, MIDNIGHT, run_dag, states
from tests.support.cluster import (
    HADOOP_SERVICES,
    client_environment,
    cluster_environment,
    cluster_settings,
    environment,
    fsck,
    put_trees,
    read_table,
)
from tests.support.stack import listening_elsewhere

HOUR = MIDNIGHT + timedelta(hours=12)


@pytest.fixture(scope="module")
def cluster(hiveserver2, airflow_db):
    """HDFS and YARN of a cluster-mode stack beside the run's; yields (stack, settings, environment)."""
    variables = cluster_environment(database="cluster_e2e", topic="cluster_e2e.events")
    settings = cluster_settings(variables)
    stack = Stack(settings)
    try:
        with environment(variables):
            stack.up(HADOOP_SERVICES)
            hadoop.build_py_files(settings)
            hadoop.publish_jobenv(settings)
        execute(settings, create_database_sql(settings), database=None)
        yield stack, settings, {**variables, **client_environment(settings)}
    finally:
        assert stack.down() == []
        shutil.rmtree(settings.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster_day(cluster, built_day):
    """The warehouse tests' day: its raw files copied to HDFS, with raw_events over them."""
    stack, settings, env = cluster
    local_raw = Path(built_day.table_path("raw_events").removeprefix("file://"))
    days = [local_raw / f"dt={DAY + timedelta(days=k):%Y-%m-%d}" for k in (-1, 0, 1)]
    put_trees(settings, [d for d in days if d.is_dir()], settings.table_path("raw_events"))
    # For the DAGs' checks through HiveServer2.
    db, location = settings.hive_database, settings.table_path("raw_events")
    execute(settings, f"CREATE TABLE IF NOT EXISTS {db}.raw_events LIKE {built_day.hive_database}.raw_events "
                      f"LOCATION '{location}'", f"MSCK REPAIR TABLE {db}.raw_events", database=None)
    return cluster


def run_on_cluster(env: dict[str, str], dag_id: str, logical_date, marked: str):
    """dag.test() a DAG with the cluster's settings and spark_default on YARN; return {task: state}."""
    with environment(env):
        get_settings.cache_clear()  # the DAG files read settings when parsed
        try:
            return states(run_dag(dag_id, logical_date, mark_success_pattern=marked, retries=0))
        finally:
            get_settings.cache_clear()


def assert_same_rows(local, cluster, tables, partition):
    for table in tables:
        expected, actual = read_table(local, table, partition), read_table(cluster, table, partition)
        assert actual.num_rows == expected.num_rows > 0, table
        assert actual.equals(expected), f"{table} {partition}: YARN's rows differ from local mode's"


# About 90 s: with the slow tests (`make test-restarts`); `make test` keeps the daily DAG on YARN below.
def test_the_hadoop_daemons_listen_on_the_loopback_only(cluster):
    stack, _, _ = cluster
    names = [*HADOOP_SERVICES, "yarn-resourcemanager"]  # the NodeManager's requirement
    daemons = [psutil.Process(status.pid) for status in stack.status(names) if status.pid]
    assert len(daemons) == len(names)
    assert listening_elsewhere([p for d in daemons for p in (d, *d.children(recursive=True))]) == []


@pytest.mark.slow
def test_the_hourly_job_runs_on_yarn_and_matches_local_mode(cluster_day, built_day):
    stack, settings, env = cluster_day
    run = run_on_cluster(env, "clickstream_hourly", HOUR + timedelta(hours=1),
                         marked="wait_for_stream|create_tables|add_missing_columns|register_partitions|"
                                "check_hourly")
    assert run["hourly_job"] == "success", run
    apps = [a for a in hadoop_status.applications(settings) if a["name"].startswith("clickstream-hourly")]
    assert [(a["state"], a["finalStatus"]) for a in apps] == [("FINISHED", "SUCCEEDED")]
    assert_same_rows(built_day, settings, catalog.names(catalog.HOURLY), f"dt={DAY}/hr={HOUR.hour}")


def quiet(health) -> str | None:
    """How the NameNode reports one DataNode gone quiet: stale first, dead later; None if it does not."""
    if health.stale_datanodes == 1:
        return "1 stale"
    return "1 dead" if health.dead_datanodes == 1 else None


def test_the_daily_dag_runs_on_yarn_with_a_datanode_down_and_matches_local_mode(cluster_day, built_day):
    stack, settings, env = cluster_day
    # Every block of the day's raw files is on both DataNodes before one of them stops.
    report = fsck(settings, urlparse(settings.table_path("raw_events")).path)
    files = [line for line in report.splitlines() if ".parquet" in line and " bytes" in line]
    assert files and all("replication=2" in line for line in files), report[-2000:]
    assert "Under-replicated blocks:\t0 " in report, report[-2000:]
    stack.stop_service("hdfs-datanode-2")
    try:
        run = run_on_cluster(env, "clickstream_daily", MIDNIGHT + timedelta(days=1),
                             marked="wait_for_hours|report_")
        done = ("create_tables", "add_missing_columns", "daily_job", "register_partitions", "check_daily")
        assert {run[t] for t in done} == {"success"}, run
        assert_same_rows(built_day, settings, catalog.names(catalog.DAILY), f"dt={DAY}")
        # The NameNode calls the stopped DataNode stale 30 s after its last heartbeat, dead after 2.5 minutes
        # (hdfs-site.xml): `make status` and the Pipeline page say so.
        health = wait_for(lambda: quiet(cluster_health.hdfs_health(settings)) and
                          cluster_health.hdfs_health(settings), 60,
                          what="the stopped DataNode reported")
        assert not health.healthy and health.live_datanodes - health.stale_datanodes == 1, health
        with environment(env):
            result = subprocess.run([sys.executable, "-m", "embedded", "status"], capture_output=True,
                                    text=True, timeout=120, env=dict(os.environ))  # what `make status` runs
        assert result.returncode == 1, result.stdout + result.stderr
        status = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
        assert "UNHEALTHY" in status["HDFS"] and quiet(health) in status["HDFS"], status
        assert "STOPPED" in status["hdfs-datanode-2"], status
        assert "healthy" in status["YARN"].split() and "1 NodeManagers running" in status["YARN"], status
        with environment(env):
            get_settings.cache_clear()
            st.cache_data.clear()
            try:
                app = AppTest.from_file(str(REPO_ROOT / "dashboard" / "streamlit_app.py"),
                                        default_timeout=120)
                app.run()
                app.switch_page("app_pages/pipeline.py")
                app.run()
            finally:
                get_settings.cache_clear()
                st.cache_data.clear()
        assert not app.exception, [e.value for e in app.exception]
        assert any(e.value.startswith("HDFS: ") and quiet(health) in e.value for e in app.error), \
            [e.value for e in app.error]
        assert any(s.value.startswith("YARN: 1 NodeManagers running") for s in app.success)
    finally:
        with environment(env):
            stack.up(["hdfs-datanode-2"])


STREAM_DAY = date(2026, 11, 10)  # the streaming test's events: a day the batch tests do not use


def produce(settings, n: int, seed: str) -> set[str]:
    """Produce about n events of STREAM_DAY to the cluster's topic; return their ids."""
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 20})
    ids = set()
    for event in site_events(STREAM_DAY, n, seed):
        producer.produce(settings.topic_events, key=event["session_id"].encode(), value=orjson.dumps(event))
        producer.poll(0)
        ids.add(event["event_id"])
    assert producer.flush(30) == 0
    return ids


def archived_ids(settings) -> list[str]:
    """The event ids in raw_events' files on HDFS of STREAM_DAY and the next (sessions cross midnight)."""
    ids = []
    for day in (STREAM_DAY, STREAM_DAY + timedelta(days=1)):
        filesystem, root = storage.from_uri(f"{settings.table_path('raw_events')}/dt={day}", settings)
        try:
            ids += ds.dataset(root, filesystem=filesystem, format="parquet").to_table(
                columns=["event_id"]).column("event_id").to_pylist()
        except (FileNotFoundError, OSError):
            continue
    return ids


def am_process(app_id: str) -> psutil.Process | None:
    """The JVM of an application's current ApplicationMaster container (the driver, in cluster mode)."""
    stamp = app_id.removeprefix("application_")
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "org.apache.spark.deploy.yarn.ApplicationMaster" in cmd and f"container_{stamp}_" in cmd:
            return proc
    return None


# About 4 minutes on two cores (the application's start on YARN, twice): with `make test-restarts`, outside
# `make test`, whose 35-minute budget it would break. The batch tests above stay in `make test`.
@pytest.mark.slow
def test_the_streaming_application_survives_its_application_master_killed_exactly_once(cluster, broker):
    """Submitted as its DAG submits it; its AM SIGKILLed: YARN's second attempt resumes from checkpoints."""
    from airflow.dag_processing.dagbag import DagBag

    stack, settings, env = cluster
    ensure_topics(settings)
    first = produce(settings, 1500, "cluster-first")
    with environment(env):
        get_settings.cache_clear()
        try:
            bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "clickstream_streaming.py"))
            task = bag.dags["clickstream_streaming"].get_task("run_streaming_app")
            hook = task._get_hook()
            hook._application_args = ["--mode", "continuous"]
            hook._conf["spark.yarn.submit.waitAppCompletion"] = "false"  # as the provider's durable path
            hook.submit(task.application)
        finally:
            get_settings.cache_clear()
    app_id = hook._yarn_application_id
    assert app_id, "spark-submit named no YARN application"
    try:
        wait_for(lambda: set(archived_ids(settings)) >= first, 300, 3, "the first events archived on HDFS")
        am = am_process(app_id)
        assert am is not None and hadoop_status.application(settings, app_id)["state"] == "RUNNING"
        # The containers (the driver in the ApplicationMaster's, the executors) too listen on the loopback.
        (manager,) = stack.status(["yarn-nodemanager"])
        containers = psutil.Process(manager.pid).children(recursive=True)
        assert am in containers and listening_elsewhere(containers) == []
        am.kill()
        second = produce(settings, 900, "cluster-second")
        wait_for(lambda: len(hadoop_status.attempts(settings, app_id)) == 2, 120, 2, "YARN's second attempt")
        wait_for(lambda: set(archived_ids(settings)) >= first | second, 300, 3, "every event archived")
        ids = archived_ids(settings)
        assert len(ids) == len(set(ids)) == len(first | second), "an event archived twice or lost"
        assert hadoop_status.application(settings, app_id)["state"] == "RUNNING"
        assert_unschedulable_job_fails_with_yarns_reason(settings, env)
    finally:
        streaming_app.request_stop(settings)
        wait_for(lambda: (hadoop_status.application(settings, app_id).get("state")
                          not in streaming_app.YARN_LIVE), 120, 2, "the application's stop")
    assert hadoop_status.application(settings, app_id)["finalStatus"] == "SUCCEEDED"


def assert_unschedulable_job_fails_with_yarns_reason(settings, env):
    """A daily job YARN cannot start beside the streaming application (a 9 GB driver where less is free)
    fails after the DAG operator's bound, with YARN's reason, and YARN no longer holds it."""
    from airflow.dag_processing.dagbag import DagBag

    from clickstream_airflow.spark import UnschedulableApplication

    with environment(env):
        get_settings.cache_clear()
        try:
            task = DagBag(dag_folder=str(REPO_ROOT / "dags" / "clickstream_daily.py")).dags[
                "clickstream_daily"].get_task("daily_job")
            task.max_queued_minutes, task._driver_memory = 0.5, "9g"
            hook = task._get_hook()
            hook._application_args = ["--day", str(STREAM_DAY)]
            started = time.monotonic()
            hook.submit(task.application)  # spark-submit returns once YARN has the application
            # What the operator's resumable execution then does: follow it through the ResourceManager.
            with pytest.raises(UnschedulableApplication, match=r"YARN's reason: (?!none given)") as failure:
                hook._start_yarn_application_status_tracking(hook._yarn_application_id)
        finally:
            get_settings.cache_clear()
    assert time.monotonic() - started < 120, failure.value
    # YARN answers a kill at once (HTTP 202) and carries it out moments later.
    wait_for(lambda: hadoop_status.application(settings, hook._yarn_application_id)["state"] == "KILLED",
             60, 1, f"YARN killing the unschedulable application ({failure.value})")
