"""The embedded runtime's cluster mode for tests: HDFS (a NameNode, two DataNodes) and YARN.

A second stack in a data directory of its own (``CLICKSTREAM_CLUSTER=yarn``) runs the Hadoop daemons
only; the run's broker and HiveServer2 serve it, with a database and topics of its own whose tables
live on HDFS. Jobs are submitted as production submits them: YARN cluster deploy mode, the jobs'
packed Python environment from HDFS, the library as --py-files.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from clickstream import storage
from clickstream.settings import Settings, load_settings
from embedded import hadoop
from embedded.environment import airflow_connections
from embedded.ports import free_ports

HADOOP_SERVICES = ["hdfs-namenode", "hdfs-datanode-1", "hdfs-datanode-2", "yarn-nodemanager"]
PORTS = ("CLICKSTREAM_NAMENODE_PORT", "CLICKSTREAM_NAMENODE_HTTP_PORT", "CLICKSTREAM_YARN_PORT",
         "CLICKSTREAM_YARN_SCHEDULER_PORT", "CLICKSTREAM_YARN_TRACKER_PORT", "CLICKSTREAM_YARN_ADMIN_PORT",
         "CLICKSTREAM_YARN_WEB_PORT")


def cluster_environment(database: str, topic: str) -> dict[str, str]:
    """Variables that put a cluster-mode stack beside the run's: own data dir and Hadoop ports."""
    ports = free_ports(len(PORTS) + 2)
    return {
        "CLICKSTREAM_CLUSTER": "yarn",
        "CLICKSTREAM_DATA_DIR": tempfile.mkdtemp(prefix="cs-cluster-"),
        **{name: str(port) for name, port in zip(PORTS, ports, strict=False)},
        "CLICKSTREAM_DATANODE_PORTS": f"{ports[-2]},{ports[-1]}",
        # The derived defaults follow the new NameNode port, not the run's settings.
        "CLICKSTREAM_WAREHOUSE_URI": "", "CLICKSTREAM_WEBHDFS_URL": "", "CLICKSTREAM_YARN_WEB_URL": "",
        "CLICKSTREAM_SPARK_MASTER": "",
        "CLICKSTREAM_SPARK_ARCHIVES": "", "CLICKSTREAM_SPARK_PY_FILES": "", "CLICKSTREAM_SPARK_PYTHON": "",
        "CLICKSTREAM_HIVE_DATABASE": database,
        "CLICKSTREAM_TOPIC_EVENTS": topic,
    }


@contextmanager
def environment(variables: dict[str, str]):
    """Set variables in this process (an empty value unsets one) and restore them afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    try:
        for name, value in variables.items():
            if value:
                os.environ[name] = value
            else:
                os.environ.pop(name, None)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def client_environment(settings: Settings) -> dict[str, str]:
    """What Airflow's processes get in cluster mode: settings, Hadoop clients, spark_default on YARN."""
    from clickstream.settings import settings_env

    conns = airflow_connections(settings)
    return {**settings_env(settings), **hadoop.client_env(settings),
            "AIRFLOW_CONN_SPARK_DEFAULT": conns["AIRFLOW_CONN_SPARK_DEFAULT"]}


def cluster_settings(variables: dict[str, str]) -> Settings:
    """The settings a process with these variables reads."""
    with environment(variables):
        return load_settings()


def read_table(settings: Settings, table: str, partition: str) -> pa.Table:
    """Every row of one partition of a table, read from its files (on HDFS or local), sorted."""
    filesystem, root = storage.from_uri(f"{settings.table_path(table)}/{partition}", settings)
    data = ds.dataset(root, filesystem=filesystem, format="parquet").to_table()
    return data.sort_by([(name, "ascending") for name in data.column_names
                         if not pa.types.is_nested(data.schema.field(name).type)])


def put_trees(settings: Settings, sources: list[Path], uri: str) -> None:
    """Copy local directories into the HDFS directory uri, in one `hdfs dfs -put`."""
    hadoop.tool(settings, "dfs", "-mkdir", "-p", uri)
    hadoop.tool(settings, "dfs", "-put", "-f", *map(str, sources), uri, timeout=300)


def fsck(settings: Settings, path: str) -> str:
    """`hdfs fsck <path> -files -blocks`: every file with its blocks' replication."""
    return hadoop.tool(settings, "fsck", path, "-files", "-blocks").stdout
