"""The embedded HiveServer2's metastore configuration: production's file, this machine's addresses."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from clickstream.settings import load_settings
from embedded import hive_conf, metastore_upgrade
from embedded.services import all_services


def properties(xml: str) -> dict[str, str]:
    return {p.findtext("name"): p.findtext("value") for p in ET.fromstring(xml).iter("property")}


def test_the_embedded_hive_site_is_productions_with_local_addresses(tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path))
    settings = load_settings().replace(pg_port=15432, hive_port=11000)
    production = properties(hive_conf.PRODUCTION_HIVE_SITE.read_text())
    local = properties((hive_conf.write_conf(settings) / "hive-site.xml").read_text())
    changed = {name for name in production if production[name] != local[name]}
    assert changed == {"javax.jdo.option.ConnectionURL", "hive.metastore.warehouse.dir",
                       "hive.server2.thrift.port", "hive.server2.thrift.bind.host",
                       "hive.server2.authentication"}
    # Production asks for a login; the embedded one, on 127.0.0.1 only, for none (README).
    assert (production["hive.server2.authentication"], local["hive.server2.authentication"]) == (
        "CUSTOM", "NONE")
    assert local["javax.jdo.option.ConnectionURL"] == "jdbc:postgresql://127.0.0.1:15432/metastore"
    assert local["hive.server2.thrift.port"] == "11000"
    assert local["hive.server2.thrift.bind.host"] == "127.0.0.1"
    # The password stays a reference to the environment; HiveServer2's process alone gets the variable.
    assert local["javax.jdo.option.ConnectionPassword"] == "${env.HIVE_METASTORE_DB_PASSWORD}"
    assert local["hive.metastore.integral.jdo.pushdown"] == "true"
    hiveserver2 = next(s for s in all_services(settings) if s.name == "hiveserver2")
    assert "postgres" in hiveserver2.requires
    assert set(hiveserver2.env(settings)) == {"HIVE_METASTORE_DB_PASSWORD"}
    assert not any(s.env(settings) for s in all_services(settings) if s.name != "hiveserver2")
    command = " ".join(hiveserver2.command(settings))
    assert str(hive_conf.conf_dir(settings)) in command and "derby" not in command.lower()
    assert "spark.sql.hive.metastorePartitionPruningFallbackOnException=true" in command


def test_an_unknown_property_is_refused():
    with pytest.raises(KeyError, match="no.such"):
        hive_conf.hive_site({"no.such": "x"})


@pytest.mark.parametrize(("name", "spec"), [
    ("dt=2026-12-06/hr=14", "PARTITION (`dt`='2026-12-06', `hr`='14')"),
    ("dt=2026-12-06/app=news", "PARTITION (`dt`='2026-12-06', `app`='news')"),
    ("dt=2026-12-06/page=%2Fproducts%3Fa", "PARTITION (`dt`='2026-12-06', `page`='/products?a')"),
    ("k=it's", "PARTITION (`k`='it\\'s')"),
])
def test_partition_names_become_partition_clauses(name, spec):
    assert metastore_upgrade.partition_spec(name) == spec


@pytest.mark.parametrize(("ddl", "expected"), [
    ("CREATE EXTERNAL TABLE c.raw_events (", "CREATE EXTERNAL TABLE IF NOT EXISTS c.raw_events ("),
    ("CREATE TABLE x.y (a INT)", "CREATE TABLE IF NOT EXISTS x.y (a INT)"),
    ("CREATE VIEW x.v (a) AS SELECT 1", "CREATE VIEW IF NOT EXISTS x.v (a) AS SELECT 1"),
    ("CREATE VIEW IF NOT EXISTS x.v AS SELECT 1", "CREATE VIEW IF NOT EXISTS x.v AS SELECT 1"),
])
def test_replayed_ddl_leaves_existing_objects_alone(ddl, expected):
    assert metastore_upgrade.if_not_exists(ddl) == expected
