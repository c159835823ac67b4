"""Shared per-run fixtures: one embedded stack on free ports in a temporary data directory.

The environment is set before anything reads settings, so every component
under test (and every process the stack starts) uses these ports and this
data directory, never those of a stack started with `make run`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from embedded.ports import private_ports

# Helpers whose asserts are the tests' own: pytest explains their failures too.
pytest.register_assert_rewrite("tests.support")


def pytest_configure(config: pytest.Config) -> None:
    """Point the whole run at a private data directory and free ports."""
    if os.environ.get("CLICKSTREAM_TEST_KEEP_ENV"):
        return
    data_dir = Path(tempfile.mkdtemp(prefix="cs-test-"))
    data_dir.chmod(0o755)  # PostgreSQL runs as its own OS user when tests run as root
    config._clickstream_data_dir = data_dir  # type: ignore[attr-defined]
    os.environ.update(private_ports())
    os.environ["CLICKSTREAM_DATA_DIR"] = str(data_dir)
    # Local mode, whatever the shell says (the cluster-mode tests start their own HDFS and YARN).
    for var in ("CLICKSTREAM_KAFKA_BOOTSTRAP", "CLICKSTREAM_WAREHOUSE_URI", "CLICKSTREAM_HIVE_HOST",
                "CLICKSTREAM_CLUSTER", "CLICKSTREAM_SPARK_MASTER", "CLICKSTREAM_WEBHDFS_URL",
                "CLICKSTREAM_YARN_WEB_URL",
                "CLICKSTREAM_SPARK_ARCHIVES", "CLICKSTREAM_SPARK_PY_FILES", "CLICKSTREAM_SPARK_PYTHON"):
        os.environ.pop(var, None)
    # In-process Airflow (DagBag, dag.test()) uses the run's metadata DB and connections;
    # it reads them once, at import, so they are set before anything imports airflow.
    from clickstream.settings import load_settings
    from embedded.environment import airflow_env

    os.environ.update(airflow_env(load_settings()))
    # The Live page's store's password, as the stack's processes get it (a dashboard the tests start too).
    from clickstream.streaming.live_store import PASSWORD_VAR
    from embedded.environment import load_secrets

    os.environ[PASSWORD_VAR] = load_secrets(load_settings())["live_password"]
    # Spark's launcher scripts (beeline, spark-submit) find the wheel's Spark through this.
    from embedded.environment import VENV_BIN, spark_env

    os.environ.update(spark_env(os.environ))
    # Spark's Python workers and Airflow's task processes import the project from here.
    from clickstream.settings import REPO_ROOT

    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the run's data directory (kept with CLICKSTREAM_TEST_KEEP_DATA=1, to debug)."""
    data_dir = getattr(config, "_clickstream_data_dir", None)
    if data_dir is not None and not os.environ.get("CLICKSTREAM_TEST_KEEP_DATA"):
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def settings():
    """Settings of this test run."""
    from clickstream.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def stack(settings):
    """The run's embedded stack; services start on demand and all stop at the end."""
    from embedded.stack import Stack

    stack = Stack(settings)
    yield stack
    if "airflow.settings" in sys.modules:  # close dag.test()'s DB connections before PostgreSQL stops
        sys.modules["airflow.settings"].dispose_orm()
    alive = stack.down()
    assert alive == [], f"processes left after stopping the stack: {alive}"


@pytest.fixture(scope="session")
def broker(stack, settings):
    """A running broker with the platform's topics; returns the bootstrap servers."""
    stack.up(["broker"])
    return settings.kafka_bootstrap


@pytest.fixture(scope="session")
def hiveserver2(stack, settings):
    """A running HiveServer2 with the platform's database."""
    stack.up(["hiveserver2"])
    return settings


@pytest.fixture(scope="session")
def airflow_db(stack, settings):
    """A migrated Airflow metadata DB for dag.test(), without Airflow's services."""
    from embedded import bootstrap

    if settings.airflow_db == "postgres":
        stack.up(["postgres"])
    bootstrap.migrate_airflow(settings)
    return settings


@pytest.fixture(scope="session")
def sites(stack, settings):
    """The three simulated sites served by gunicorn, with the broker they produce to."""
    stack.up([f"site-{site}" for site in settings.sites])
    return {site: f"http://127.0.0.1:{port}" for site, port in settings.sites.items()}


@pytest.fixture(scope="session")
def spark(settings):
    """One local Spark session for the run, with Spark's Kafka connector as the jobs get it."""
    from pyspark.sql import SparkSession

    from clickstream.streaming.session import ROCKSDB_PROVIDER

    session = (
        SparkSession.builder.master("local[2]")
        .appName("clickstream-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.jars", settings.spark_jars)
        # transformWithState (navigation paths) needs RocksDB, as in the streaming application.
        .config("spark.sql.streaming.stateStore.providerClass", ROCKSDB_PROVIDER)
        .getOrCreate()
    )
    yield session
    session.stop()
