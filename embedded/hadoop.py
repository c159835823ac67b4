"""HDFS and YARN for the embedded runtime's cluster mode (``CLICKSTREAM_CLUSTER=yarn``).

The same daemons production runs, each a process of its own under supervisord: a NameNode,
two DataNodes (``dfs.replication=2``), a ResourceManager and a NodeManager. Their code is
Hadoop 3.5.0 from ``jvm/hadoop/pom.xml`` (the version the pinned pyspark bundles); their
configuration is production's site files (``docker/config/hadoop/*.xml``) with the few
values a single machine must change — addresses on the loopback interface, directories
under ``<data dir>/hadoop``, the DataNodes' own ports (embedded/hadoop_conf.py). One source for
both runtimes. What the daemons report (health, YARN's applications): embedded/hadoop_status.py.

Hadoop's "CLI MiniCluster" (``MiniHadoopClusterManager``) was tried first and set aside: it
formats HDFS at every start, so the warehouse would not survive ``make stop``, and its
DataNodes live in one JVM, so none of them can fail alone (docs/decisions/cluster-mode.md).

Everything the cluster keeps lives in ``<data dir>/hadoop``:

| path | what |
|---|---|
| ``conf/`` | core-, hdfs-, yarn-site.xml and capacity-scheduler.xml, written at every start |
| ``namenode/`` | the NameNode's image and edits (formatted once) |
| ``datanode-1/``, ``datanode-2/`` | the blocks |
| ``rm-state/`` | the ResourceManager's applications, kept across restarts |
| ``nm-local/``, ``nm-logs/`` | the NodeManager's container directories and logs |
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from clickstream.settings import REPO_ROOT, Settings
from embedded.hadoop_conf import conf_dir, home, write_conf

JVM_LIB = REPO_ROOT / "jvm" / "lib" / "hadoop"
PRODUCTION_SPARK_CONF = REPO_ROOT / "docker" / "config" / "spark"
DATANODES = 2
HDFS_USER = "hadoop"  # production's hadoop.http.staticuser.user: who owns the warehouse files

# Heaps sized for a laptop: the daemons hold metadata of a few thousand files, not data.
HEAP = {"namenode": "384m", "datanode": "192m", "resourcemanager": "384m", "nodemanager": "256m"}
MAIN_CLASS = {
    "namenode": "org.apache.hadoop.hdfs.server.namenode.NameNode",
    "datanode": "org.apache.hadoop.hdfs.server.datanode.DataNode",
    "resourcemanager": "org.apache.hadoop.yarn.server.resourcemanager.ResourceManager",
    "nodemanager": "org.apache.hadoop.yarn.server.nodemanager.NodeManager",
}
# Command-line tools, as `hdfs …` and `yarn …` run them in production: <data dir>/hadoop/bin/{hdfs,yarn}.
TOOL_CLASS = {
    "dfs": "org.apache.hadoop.fs.FsShell",
    "fsck": "org.apache.hadoop.hdfs.tools.DFSck",
    "dfsadmin": "org.apache.hadoop.hdfs.tools.DFSAdmin",
    "application": "org.apache.hadoop.yarn.client.cli.ApplicationCLI",
    "applicationattempt": "org.apache.hadoop.yarn.client.cli.ApplicationCLI",
    "container": "org.apache.hadoop.yarn.client.cli.ApplicationCLI",
    "node": "org.apache.hadoop.yarn.client.cli.NodeCLI",
    "logs": "org.apache.hadoop.yarn.client.cli.LogsCLI",
}
APPLICATION_CLI = ("application", "applicationattempt", "container")
TOOLS = {"hdfs": ("dfs", "fsck", "dfsadmin"),
         "yarn": ("application", "applicationattempt", "container", "node", "logs")}
# The jobs' packed Python environment (`make install`): put on HDFS once (settings.spark_archives), from
# where YARN localizes it on each node.
JOBENV_LOCAL = REPO_ROOT / "build" / "jobenv.tar.gz"
# Java 17 closes the JDK internals Hadoop's RPC and web layers reach into, as Hadoop's own scripts open them.
JAVA_OPENS = [f"--add-opens=java.base/{pkg}=ALL-UNNAMED" for pkg in (
    "java.lang", "java.lang.reflect", "java.io", "java.net", "java.nio", "java.util",
    "java.util.concurrent", "java.util.concurrent.atomic", "sun.nio.ch", "sun.nio.cs", "sun.security.action",
    "sun.util.calendar",
)]


class HadoopSetupError(RuntimeError):
    """The cluster cannot be set up here; the message says what to do."""


def java_command(settings: Settings, main_class: str, heap: str, *args: str) -> list[str]:
    """Return the java command line of one Hadoop daemon or tool, configured by conf_dir."""
    if not JVM_LIB.is_dir():
        raise HadoopSetupError(f"Hadoop's jars are missing ({JVM_LIB}): run `make install`")
    classpath = f"{conf_dir(settings)}:{JVM_LIB}/*"
    return ["java", f"-Xmx{heap}", *JAVA_OPENS, f"-Dhadoop.log.dir={settings.log_dir}",
            f"-DHADOOP_USER_NAME={HDFS_USER}", "-cp", classpath, main_class, *args]


def datanode_overrides(settings: Settings, index: int) -> list[str]:
    """Return one DataNode's directory and ports: data transfer as set (its identity), others ephemeral."""
    return [
        "-D", f"dfs.datanode.data.dir={(home(settings) / f'datanode-{index}').as_uri()}",
        "-D", f"dfs.datanode.address=127.0.0.1:{settings.datanode_ports[index - 1]}",
        "-D", "dfs.datanode.http.address=127.0.0.1:0",
        "-D", "dfs.datanode.ipc.address=127.0.0.1:0",
    ]


def daemon_command(role: str, index: int = 1) -> Callable[[Settings], list[str]]:
    """Return the command of one daemon, for supervisord."""

    def command(settings: Settings) -> list[str]:
        args = datanode_overrides(settings, index) if role == "datanode" else []
        return java_command(settings, MAIN_CLASS[role], HEAP[role], *args)

    return command


def tool(settings: Settings, name: str, *args: str, timeout: float = 120,
         check: bool = True) -> subprocess.CompletedProcess:
    """Run one of Hadoop's command-line tools (``hdfs dfs``, ``hdfs fsck``, ``yarn application`` …)."""
    if name in APPLICATION_CLI:
        args = (name, *args)  # ApplicationCLI reads which listing from its first argument, as `yarn` does
    return subprocess.run(java_command(settings, TOOL_CLASS[name], "256m", *args), capture_output=True,
                          text=True, timeout=timeout, check=check, env={**os.environ, **client_env(settings)})


def client_env(settings: Settings) -> dict[str, str]:
    """Return the variables every client of the cluster needs (spark-submit, the tools, the NodeManager)."""
    return {"HADOOP_CONF_DIR": str(conf_dir(settings)), "YARN_CONF_DIR": str(conf_dir(settings)),
            "HADOOP_USER_NAME": HDFS_USER, "JAVA_HOME": java_home(),
            "SPARK_CONF_DIR": str(home(settings) / "spark-conf")}


def java_home() -> str:
    """Return the JDK that runs `java` here; YARN containers start their JVMs from it."""
    java = shutil.which("java")
    if not java:
        raise HadoopSetupError("java not found: run `make system-deps`")
    return str(Path(java).resolve().parent.parent)


def spark_defaults() -> dict[str, str]:
    """Return spark-defaults.conf of cluster mode: production's, with Spark's jars read in place."""
    from embedded.spark_dist import spark_home

    lines = (PRODUCTION_SPARK_CONF / "spark-defaults.conf").read_text().splitlines()
    conf = dict(line.split(None, 1) for line in lines if line.strip() and not line.startswith("#"))
    # Spark's jars are on this machine: the containers read them in place instead of an upload of
    # 450 MB per application (production's NodeManager image has no Spark).
    conf["spark.yarn.jars"] = f"local:{spark_home() / 'jars'}/*"
    # No history server on one machine: no event logs for it (production's go to hdfs:///spark-logs).
    conf["spark.eventLog.enabled"] = "false"
    conf.pop("spark.eventLog.dir", None)
    # The driver (in the ApplicationMaster's container) and the executors bind to, and advertise, the
    # loopback rather than the machine's address: a container does not inherit spark-submit's environment.
    for role in ("spark.yarn.appMasterEnv", "spark.executorEnv"):
        conf[f"{role}.SPARK_LOCAL_IP"] = "127.0.0.1"
    return conf


def write_tools(settings: Settings) -> Path:
    """Write <data dir>/hadoop/bin/hdfs and …/yarn, production's command-line tools; return the directory."""
    directory = home(settings) / "bin"
    directory.mkdir(parents=True, exist_ok=True)
    for command, subcommands in TOOLS.items():
        cases = []
        for sub in subcommands:
            java = java_command(settings, TOOL_CLASS[sub], "256m")
            first = f" {sub}" if sub in APPLICATION_CLI else ""
            cases.append(f"  {sub}) shift; exec {shlex.join(java)}{first} \"$@\" ;;")
        script = "\n".join([
            "#!/bin/sh",
            f"# `{command}` of the embedded cluster (written by embedded/hadoop.py).",
            f"export HADOOP_CONF_DIR={shlex.quote(str(conf_dir(settings)))}",
            f"export HADOOP_USER_NAME=${{HADOOP_USER_NAME:-{HDFS_USER}}}",
            'case "$1" in', *cases,
            f'  *) echo "usage: {command} {{{"|".join(subcommands)}}} ..." >&2; exit 2 ;;',
            "esac", "",
        ])
        path = directory / command
        path.write_text(script)
        path.chmod(0o755)
    return directory


def prepare(settings: Settings) -> None:
    """Write the configuration, the tools and spark-defaults.conf; format HDFS on a new data directory."""
    write_conf(settings)
    write_tools(settings)
    spark_conf = home(settings) / "spark-conf"
    spark_conf.mkdir(parents=True, exist_ok=True)
    (spark_conf / "spark-defaults.conf").write_text(
        "# Written by embedded/hadoop.py from docker/config/spark/spark-defaults.conf.\n"
        + "".join(f"{k} {v}\n" for k, v in spark_defaults().items()))
    format_namenode(settings)


def publish_jobenv(settings: Settings) -> str:
    """Put the jobs' packed Python environment on HDFS unless the same is there; return its URI."""
    from clickstream import storage

    if not JOBENV_LOCAL.is_file():
        raise HadoopSetupError(f"{JOBENV_LOCAL} is missing: run `make install`")
    uri = settings.spark_archives.split("#", 1)[0]
    filesystem, path = storage.from_uri(uri, settings)
    info = filesystem.get_file_info(path)
    if info.size == JOBENV_LOCAL.stat().st_size and info.mtime and \
            info.mtime.timestamp() >= JOBENV_LOCAL.stat().st_mtime:
        return uri
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with JOBENV_LOCAL.open("rb") as source, filesystem.open_output_stream(f"{path}.tmp") as target:
        shutil.copyfileobj(source, target, 8 << 20)
    storage.replace(filesystem, f"{path}.tmp", path)
    return uri


def build_py_files(settings: Settings) -> Path:
    """Zip the library the jobs run (``clickstream`` alone) for --py-files; return the zip."""
    import zipfile

    target = Path(settings.spark_py_files)  # where the settings say the jobs find it
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((REPO_ROOT / "clickstream").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(REPO_ROOT))
    tmp.replace(target)
    return target


def format_namenode(settings: Settings) -> bool:
    """Format HDFS once (a new data directory); return whether it was formatted now."""
    if (home(settings) / "namenode" / "current" / "VERSION").is_file():
        return False
    write_conf(settings)
    subprocess.run(
        java_command(settings, MAIN_CLASS["namenode"], "256m", "-format", "-nonInteractive",
                     "-clusterid", "clickstream"),
        check=True, capture_output=True, text=True, timeout=120,
    )
    return True
