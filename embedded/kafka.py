"""Apache Kafka as the embedded broker: one KRaft node (broker and controller) with its log on disk.

The jars come from ``jvm/kafka/pom.xml`` (``make install`` copies them into
``jvm/lib/kafka``). Everything the node keeps lives in ``<data dir>/kafka``:

| path | what |
|---|---|
| ``log/`` | the topics' log segments and the KRaft metadata log (formatted once) |
| ``cluster.id`` | the cluster id the log was formatted with, kept across restarts |
| ``server.properties`` | the node's configuration, written at every start from the settings |
| ``log4j2.properties`` | logging to stdout, which supervisord writes to ``logs/broker.log`` |

Retention is by time and by size, per partition (``CLICKSTREAM_KAFKA_RETENTION_HOURS``,
``CLICKSTREAM_KAFKA_RETENTION_MB``): with the defaults the three topics never hold more than
about 4.5 GB, however long the stack runs. Topics are created by the platform
(:mod:`clickstream.topics`), never on first use: a producer or reader of a topic that does not
exist gets an error naming it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from clickstream.settings import REPO_ROOT, Settings
from embedded.kafka_ids import new_cluster_id

JVM_LIB = REPO_ROOT / "jvm" / "lib"
SEGMENT_MB = 64
# Space the broker needs to start and take events for a while; below it, `make run` says so.
MIN_FREE_MB = 1024
LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = warn
logger.org.name = org.apache.kafka
logger.org.level = warn
# The lines an operator needs: started, shut down, log directory failures, retention.
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = info
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = info
logger.state.name = state.change.logger
logger.state.level = warn
"""


class KafkaSetupError(RuntimeError):
    """The broker cannot be set up here; the message says what to do."""


def jvm_classpath(module: str) -> str:
    """Return the classpath wildcard of one jvm/ module's jars, or say how to install them."""
    directory = JVM_LIB / module
    if not any(directory.glob("*.jar")):
        raise KafkaSetupError(f"no jars in {directory}: run `make install` (it copies them with Maven "
                              f"from jvm/{module}/pom.xml)")
    return f"{directory}/*"


def java() -> str:
    """Return the java executable (JAVA_HOME first, then PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise KafkaSetupError("java not found: run `make install` (it installs openjdk-17-jre-headless)")
    return found


def kafka_dir(settings: Settings) -> Path:
    """Return the directory holding everything the embedded broker keeps."""
    return settings.data_dir / "kafka"


def server_properties(settings: Settings) -> str:
    """Return the node's server.properties: one KRaft node on loopback, retention by time and size."""
    log_dir = kafka_dir(settings) / "log"
    host = "127.0.0.1"
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{settings.kafka_controller_port}",
        "listeners": f"PLAINTEXT://{host}:{settings.broker_port},CONTROLLER://{host}:{settings.kafka_controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{settings.broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dir),
        # One node: every internal topic has one replica.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
        "log.retention.hours": str(settings.kafka_retention_hours),
        "log.retention.bytes": str(settings.kafka_retention_mb * 1024 * 1024),
        "log.segment.bytes": str(SEGMENT_MB * 1024 * 1024),
        "log.retention.check.interval.ms": "300000",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def prepare(settings: Settings) -> None:
    """Write the node's configuration and format its log directory on first start (idempotent)."""
    root = kafka_dir(settings)
    log_dir = root / "log"
    root.mkdir(parents=True, exist_ok=True)
    check_free_space(root)
    config = root / "server.properties"
    config.write_text(server_properties(settings))
    (root / "log4j2.properties").write_text(LOG4J2)
    if (log_dir / "meta.properties").exists():
        return
    id_file = root / "cluster.id"
    if not id_file.exists():
        id_file.write_text(new_cluster_id() + "\n")
    cluster_id = id_file.read_text().strip()
    result = subprocess.run(
        [java(), "-cp", jvm_classpath("kafka"), f"-Dlog4j2.configurationFile={root / 'log4j2.properties'}",
         "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if result.returncode != 0:
        raise KafkaSetupError(f"formatting the Kafka log in {log_dir} failed:\n"
                              f"{(result.stdout + result.stderr)[-2000:]}")


def check_free_space(path: Path, need_mb: int = MIN_FREE_MB) -> None:
    """Raise naming the file system and the remedy when it has less than need_mb free."""
    free_mb = shutil.disk_usage(path).free // (1024 * 1024)
    if free_mb < need_mb:
        raise KafkaSetupError(
            f"only {free_mb} MB free on the file system of {path} (the broker needs {need_mb} MB): "
            "free some space, or lower CLICKSTREAM_KAFKA_RETENTION_MB / _HOURS and restart")


def broker_command(settings: Settings) -> list[str]:
    """Return the command line of the node: Kafka's own server main class on the pinned jars."""
    root = kafka_dir(settings)
    return [
        java(),
        # The node's heap (as the Kafka distribution's default of 1 GB at most) and Kafka's GC settings.
        "-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={root / 'log4j2.properties'}",
        "-cp", jvm_classpath("kafka"),
        "kafka.Kafka", str(root / "server.properties"),
    ]  # fmt: skip
