"""Cluster mode's configuration: production's Hadoop and Spark files with the local changes only."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from pyarrow import fs as pafs

from clickstream import storage
from clickstream.settings import load_settings
from embedded import bootstrap, hadoop, hadoop_conf
from embedded.environment import airflow_connections


@pytest.fixture
def yarn_settings(monkeypatch, tmp_path):
    for name in ("CLICKSTREAM_WAREHOUSE_URI", "CLICKSTREAM_SPARK_MASTER", "CLICKSTREAM_SPARK_ARCHIVES",
                 "CLICKSTREAM_SPARK_PY_FILES", "CLICKSTREAM_SPARK_PYTHON", "CLICKSTREAM_WEBHDFS_URL",
                 "CLICKSTREAM_YARN_WEB_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CLICKSTREAM_CLUSTER", "yarn")
    monkeypatch.setenv("CLICKSTREAM_NAMENODE_PORT", "18020")
    monkeypatch.setenv("CLICKSTREAM_NAMENODE_HTTP_PORT", "19870")
    return load_settings()


def read(path) -> dict[str, str]:
    root = ET.parse(path).getroot()
    return {p.findtext("name"): p.findtext("value") for p in root.iter("property")}


def test_cluster_mode_derives_hdfs_yarn_and_the_shipped_python_from_the_namenode_port(yarn_settings):
    s = yarn_settings
    assert s.on_yarn and s.spark_master == "yarn"
    assert s.warehouse_uri == "hdfs://127.0.0.1:18020/warehouse"
    assert s.webhdfs_url == "http://127.0.0.1:19870"
    assert s.spark_archives == "hdfs://127.0.0.1:18020/apps/clickstream/jobenv.tar.gz#environment"
    assert s.spark_py_files == str(s.data_dir / "run" / "clickstream.zip")
    assert s.spark_python == "./environment/bin/python"
    spark = airflow_connections(s)["AIRFLOW_CONN_SPARK_DEFAULT"]
    assert '"deploy-mode": "cluster"' in spark and f"127.0.0.1:{s.yarn_web_port}" in spark


def test_local_mode_is_the_default_and_ships_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("CLICKSTREAM_CLUSTER", raising=False)
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path))
    for name in ("CLICKSTREAM_WAREHOUSE_URI", "CLICKSTREAM_SPARK_MASTER", "CLICKSTREAM_SPARK_ARCHIVES"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert not s.on_yarn and s.spark_master == "local[*]" and s.warehouse_uri.startswith("file://")
    assert (s.spark_archives, s.spark_py_files, s.spark_python) == ("", "", "")


def test_the_daemons_read_productions_site_files_with_only_local_addresses_and_directories(yarn_settings):
    conf = hadoop_conf.write_conf(yarn_settings)
    for name in hadoop_conf.SITE_FILES:
        production, local = hadoop_conf.production_properties(name), read(conf / name)
        overridden = hadoop_conf.local_overrides(yarn_settings)[name]
        # Every production property is there, with production's value unless this machine must differ.
        for key, value in production.items():
            if key not in overridden:
                assert local[key] == value, f"{name}: {key}"
        # No production host name is left: every address is on the loopback interface.
        assert not [v for v in local.values() if "namenode:" in v or "resourcemanager:" in v], name
    hdfs, yarn = read(conf / "hdfs-site.xml"), read(conf / "yarn-site.xml")
    assert hdfs["dfs.replication"] == "2"
    assert read(conf / "core-site.xml")["fs.defaultFS"] == "hdfs://127.0.0.1:18020"
    assert yarn["yarn.resourcemanager.recovery.enabled"] == "true"
    capacity = read(conf / "capacity-scheduler.xml")
    assert capacity["yarn.scheduler.capacity.maximum-am-resource-percent"] == "0.5"
    assert "yarn.log.server.url" not in yarn  # no history server here


def test_spark_defaults_are_productions_plus_the_local_jars(yarn_settings):
    defaults = hadoop.spark_defaults()
    lines = (hadoop.PRODUCTION_SPARK_CONF / "spark-defaults.conf").read_text().splitlines()
    production = dict(line.split(None, 1) for line in lines if line.strip() and not line.startswith("#"))
    # Production's settings, except the event logs of a history server the embedded runtime does not run,
    # and Spark's jars, read in place here.
    local = {"spark.eventLog.enabled", "spark.eventLog.dir", "spark.yarn.jars"}
    assert {k: v for k, v in production.items() if k not in local}.items() <= defaults.items()
    assert defaults["spark.eventLog.enabled"] == "false"
    jars = defaults["spark.yarn.jars"]
    assert jars.startswith("local:") and jars.endswith("/jars/*")


def test_each_datanode_has_its_own_directory_and_data_port(yarn_settings):
    one, two = (hadoop.daemon_command("datanode", i)(yarn_settings) for i in (1, 2))
    assert f"dfs.datanode.address=127.0.0.1:{yarn_settings.datanode_ports[0]}" in one
    assert f"dfs.datanode.address=127.0.0.1:{yarn_settings.datanode_ports[1]}" in two
    assert any(arg.endswith("/datanode-1") for arg in one) and any(arg.endswith("/datanode-2") for arg in two)


def test_a_data_directory_keeps_its_mode(yarn_settings):
    bootstrap.record_cluster_mode(yarn_settings)
    bootstrap.record_cluster_mode(yarn_settings)  # the same mode again: fine
    with pytest.raises(ValueError, match="created in yarn mode.*CLUSTER=yarn"):
        bootstrap.record_cluster_mode(yarn_settings.replace(cluster="local"))


def test_hdfs_uris_go_through_webhdfs_and_local_ones_stay_local(yarn_settings, tmp_path):
    table = "/warehouse/clickstream/raw_events"
    filesystem, path = storage.from_uri(f"hdfs://127.0.0.1:18020{table}", yarn_settings)
    assert isinstance(filesystem, pafs.PyFileSystem) and path == table
    filesystem, path = storage.from_uri(tmp_path.as_uri(), yarn_settings)
    assert isinstance(filesystem, pafs.LocalFileSystem) and path == str(tmp_path)


def test_replace_moves_a_file_over_another(tmp_path):
    filesystem = pafs.LocalFileSystem()
    (tmp_path / "new").write_text("new")
    (tmp_path / "old").write_text("old")
    storage.replace(filesystem, str(tmp_path / "new"), str(tmp_path / "old"))
    assert (tmp_path / "old").read_text() == "new" and not (tmp_path / "new").exists()


def test_the_jobs_zip_carries_the_library_and_its_event_schema(yarn_settings, tmp_path):
    """Containers import clickstream from --py-files alone: the schema is read from inside the zip."""
    import subprocess
    import sys

    archive = hadoop.build_py_files(yarn_settings)
    probe = ("import clickstream.contracts as c; assert '.zip' in c.__file__, c.__file__; "
             "print(len(c.client_fields()))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(archive), "PATH": "/usr/bin:/bin"}, check=True)
    from clickstream.contracts import client_fields

    assert int(out.stdout) == len(client_fields())
