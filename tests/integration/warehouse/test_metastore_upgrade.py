"""A data directory whose metastore was Derby (before 2026-12-06) is registered again at the first start.

The Derby metastore is made as the embedded HiveServer2 of before made it: the same Hive 2.3 client and
Derby (a Spark session with Hive support, in a process of its own), in ``<data dir>/metastore/db``. Its
tables, views and partitions, the empty partition included, must then answer through the PostgreSQL
metastore's HiveServer2 with the same rows, and Derby's directory is kept aside.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from clickstream.hive import execute
from embedded import metastore_upgrade

DATABASE = "upgrade_check"

MAKE_DERBY = textwrap.dedent("""
    import sys
    from pyspark.sql import SparkSession
    derby, warehouse, db = sys.argv[1:]
    spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
             .config("spark.sql.warehouse.dir", warehouse)
             .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                     f"jdbc:derby:;databaseName={derby}/db;create=true")
             .enableHiveSupport().getOrCreate())
    for sql in [
        f"CREATE DATABASE {db} LOCATION '{warehouse}/{db}'",
        f"CREATE EXTERNAL TABLE {db}.hourly (app_id STRING, events BIGINT) "
        f"PARTITIONED BY (dt STRING, hr INT) STORED AS PARQUET LOCATION '{warehouse}/{db}/hourly'",
        f"INSERT INTO {db}.hourly PARTITION (dt='2026-12-01', hr=3) VALUES ('shop', 5), ('news', 7)",
        f"INSERT INTO {db}.hourly PARTITION (dt='2026-12-01', hr=14) VALUES ('saas', 11)",
        f"ALTER TABLE {db}.hourly ADD PARTITION (dt='2026-12-01', hr=4)",
        f"CREATE EXTERNAL TABLE {db}.ledger (sent BIGINT) PARTITIONED BY (dt STRING, app STRING) "
        f"STORED AS PARQUET LOCATION '{warehouse}/{db}/ledger'",
        f"INSERT INTO {db}.ledger PARTITION (dt='2026-12-01', app='news') VALUES (7)",
        f"CREATE VIEW {db}.latest AS SELECT app_id, events FROM {db}.hourly "
        f"WHERE dt = '2026-12-01' AND hr = 14",
    ]:
        spark.sql(sql)
    spark.stop()
""")


def test_a_derby_data_directory_is_registered_in_the_postgresql_metastore(hiveserver2, settings, tmp_path):
    local = settings.replace(data_dir=tmp_path, hive_database=DATABASE)
    derby = metastore_upgrade.derby_dir(local)
    subprocess.run([sys.executable, "-c", MAKE_DERBY, str(derby), settings.warehouse_uri, DATABASE],
                   check=True, capture_output=True, cwd=tmp_path, timeout=300)
    execute(local, f"CREATE DATABASE IF NOT EXISTS {DATABASE} LOCATION '{settings.warehouse_uri}/{DATABASE}'",
            database=None)  # the stack's bootstrap creates the platform's database before the upgrade

    metastore_upgrade.register_derby_tables(local)

    assert not derby.exists() and (tmp_path / "metastore.derby-registered" / "db").is_dir()
    assert sorted(execute(local, f"SHOW PARTITIONS {DATABASE}.hourly")) == [
        ("dt=2026-12-01/hr=14",), ("dt=2026-12-01/hr=3",), ("dt=2026-12-01/hr=4",)]
    day = f"FROM {DATABASE}.hourly WHERE dt = '2026-12-01'"
    assert sorted(execute(local, f"SELECT hr, app_id, events {day}")) == [
        (3, "news", 7), (3, "shop", 5), (14, "saas", 11)]
    assert execute(local, f"SELECT COUNT(*) {day} AND hr = 4") == [(0,)]
    assert execute(local, f"SELECT app, sent FROM {DATABASE}.ledger WHERE dt = '2026-12-01'") == [("news", 7)]
    assert execute(local, f"SELECT app_id, events FROM {DATABASE}.latest") == [("saas", 11)]
    metastore_upgrade.register_derby_tables(local)  # the next start: nothing to do
    execute(local, f"DROP DATABASE {DATABASE} CASCADE", database=None)
