"""Settings come from the environment, with documented local defaults."""

from __future__ import annotations

import json

import pytest

from clickstream.settings import REPO_ROOT, Settings, load_settings, settings_env
from embedded.environment import airflow_connections

_VARS = ["CLICKSTREAM_DATA_DIR", "CLICKSTREAM_WAREHOUSE_URI", "CLICKSTREAM_KAFKA_BOOTSTRAP",
         "CLICKSTREAM_BROKER_PORT", "CLICKSTREAM_HIVE_PORT", "CLICKSTREAM_SIM_PORTS",
         "CLICKSTREAM_AIRFLOW_DB", "CLICKSTREAM_HIVE_HOST"]


@pytest.fixture
def clean_env(monkeypatch):
    """No CLICKSTREAM_* variable at all: neither the run's private ones nor any a fixture left set."""
    import os

    for var in [*_VARS, *(v for v in os.environ if v.startswith("CLICKSTREAM_"))]:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_defaults_are_local(clean_env):
    s = load_settings()
    assert s.data_dir == REPO_ROOT / "data"
    assert s.warehouse_uri == (REPO_ROOT / "data" / "warehouse").as_uri()
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert (s.hive_host, s.hive_port, s.hive_database) == ("127.0.0.1", 10000, "clickstream")
    assert s.sites == {"shop": 5001, "news": 5002, "saas": 5003}
    assert s.table_path("raw_events") == f"{s.warehouse_uri}/clickstream/raw_events"
    assert s.hive_jdbc_url == "jdbc:hive2://127.0.0.1:10000/clickstream"


def test_production_values_override_every_default(clean_env):
    clean_env.setenv("CLICKSTREAM_WAREHOUSE_URI", "hdfs://namenode:8020/warehouse/")
    clean_env.setenv("CLICKSTREAM_KAFKA_BOOTSTRAP", "kafka:9092")
    clean_env.setenv("CLICKSTREAM_HIVE_HOST", "hiveserver2")
    s = load_settings()
    assert s.table_path("raw_events") == "hdfs://namenode:8020/warehouse/clickstream/raw_events"
    assert s.kafka_bootstrap == "kafka:9092"
    assert s.hive_jdbc_url == "jdbc:hive2://hiveserver2:10000/clickstream"


def _not_the_default(name: str, value: object, tmp_path):
    """A valid value of a setting that differs from its default."""
    special = {"data_dir": tmp_path.resolve(), "cluster": "yarn", "airflow_db": "sqlite",
               "batch_start": "2026-11-01T00:00:00+00:00"}
    if name in special:
        return special[name]
    if isinstance(value, tuple):
        return tuple(v + 7 for v in value)
    if isinstance(value, int):
        return value + 7
    return f"{value}-changed" if value else "changed"


def test_every_setting_round_trips_through_a_child_environment(clean_env, tmp_path):
    """Every field, each with a value that is not its default, reaches a child process unchanged."""
    defaults = load_settings()
    changed = defaults.replace(**{name: _not_the_default(name, getattr(defaults, name), tmp_path)
                                  for name in Settings.model_fields})
    assert all(getattr(changed, name) != getattr(defaults, name) for name in Settings.model_fields)
    for key, value in settings_env(changed).items():
        clean_env.setenv(key, value)
    assert load_settings() == changed


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("CLICKSTREAM_BROKER_PORT", "ninety", "CLICKSTREAM_BROKER_PORT: Input should be a valid integer"),
        ("CLICKSTREAM_SIM_PORTS", "5001,5002", "CLICKSTREAM_SIM_PORTS: .*needs 3 comma-separated ports"),
        ("CLICKSTREAM_AIRFLOW_DB", "mysql", "CLICKSTREAM_AIRFLOW_DB: Input should be 'postgres' or 'sqlite'"),
        ("CLICKSTREAM_CLUSTER", "k8s", "CLICKSTREAM_CLUSTER: .*must be one of local, yarn"),
    ],
)
def test_bad_values_fail_clearly(clean_env, var, value, message):
    clean_env.setenv(var, value)
    with pytest.raises(ValueError, match=message):
        load_settings()


def test_embedded_connections_point_at_settings(clean_env):
    clean_env.setenv("CLICKSTREAM_HIVE_PORT", "10123")
    clean_env.setenv("CLICKSTREAM_SMTP_PORT", "2626")
    conns = airflow_connections(load_settings())
    assert set(conns) == {"AIRFLOW_CONN_SPARK_DEFAULT", "AIRFLOW_CONN_HIVE_CLI_DEFAULT",
                          "AIRFLOW_CONN_HIVESERVER2_DEFAULT", "AIRFLOW_CONN_KAFKA_DEFAULT",
                          "AIRFLOW_CONN_SMTP_DEFAULT",
                          "AIRFLOW_CONN_SIM_SHOP", "AIRFLOW_CONN_SIM_NEWS", "AIRFLOW_CONN_SIM_SAAS"}
    smtp = json.loads(conns["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert (smtp["host"], smtp["port"], smtp["extra"]["disable_tls"]) == ("127.0.0.1", 2626, True)
    assert '"port": 10123' in conns["AIRFLOW_CONN_HIVE_CLI_DEFAULT"]
    assert '"use_beeline": true' in conns["AIRFLOW_CONN_HIVE_CLI_DEFAULT"]
    assert '"host": "local[*]"' in conns["AIRFLOW_CONN_SPARK_DEFAULT"]
