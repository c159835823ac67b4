"""Health of HDFS and YARN as their own web services report it: the NameNode's JMX and the
ResourceManager's REST API. For `make status` (embedded cluster mode) and the dashboard's Pipeline page
(both runtimes); the addresses come from the settings (CLICKSTREAM_WEBHDFS_URL, CLICKSTREAM_YARN_WEB_URL).

A DataNode that stops heartbeating is *stale* after 30 s and *dead* after 2.5 minutes
(docker/config/hadoop/hdfs-site.xml); a NodeManager is LOST after 2 minutes (yarn-site.xml).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from clickstream.settings import Settings


def get_json(url: str) -> dict:
    """Return a web service's JSON answer, or {} when it does not answer with 200 and JSON."""
    try:
        response = requests.get(url, timeout=5)
        return response.json() if response.status_code == 200 else {}
    except (requests.RequestException, ValueError):
        return {}


def namenode_bean(settings: Settings, name: str) -> dict:
    """Return one of the NameNode's JMX beans (Hadoop:service=NameNode,name=…), or {}."""
    url = f"{settings.webhdfs_url.rstrip('/')}/jmx?qry=Hadoop:service=NameNode,name={name}"
    return (get_json(url).get("beans") or [{}])[0]


@dataclass(frozen=True)
class HdfsHealth:
    """The NameNode's view of the file system; ``reachable`` False when the NameNode does not answer."""

    reachable: bool
    live_datanodes: int = 0
    stale_datanodes: int = 0
    dead_datanodes: int = 0
    under_replicated_blocks: int = 0
    missing_blocks: int = 0
    files: int = 0
    safe_mode: bool = False

    @property
    def healthy(self) -> bool:
        return self.reachable and not (self.stale_datanodes or self.dead_datanodes or self.missing_blocks
                                       or self.safe_mode)

    def line(self) -> str:
        if not self.reachable:
            return "NameNode not answering"
        parts = [f"{self.live_datanodes} DataNodes live"]
        if self.stale_datanodes:
            parts.append(f"{self.stale_datanodes} stale (no heartbeat for 30 s)")
        if self.dead_datanodes:
            parts.append(f"{self.dead_datanodes} dead")
        parts.append(f"{self.under_replicated_blocks} under-replicated blocks")
        if self.missing_blocks:
            parts.append(f"{self.missing_blocks} MISSING blocks")
        if self.safe_mode:
            parts.append("in safe mode (read-only)")
        return ", ".join(parts)


def hdfs_health(settings: Settings) -> HdfsHealth:
    """Return HDFS's health from the NameNode's JMX (FSNamesystemState, NameNodeInfo)."""
    state = namenode_bean(settings, "FSNamesystemState")
    if not state:
        return HdfsHealth(reachable=False)
    info = namenode_bean(settings, "NameNodeInfo")
    system = namenode_bean(settings, "FSNamesystem")
    return HdfsHealth(
        reachable=True,
        live_datanodes=state.get("NumLiveDataNodes", 0),
        stale_datanodes=state.get("NumStaleDataNodes", 0),
        dead_datanodes=state.get("NumDeadDataNodes", 0),
        under_replicated_blocks=state.get("UnderReplicatedBlocks", 0),
        missing_blocks=system.get("MissingBlocks", 0),
        files=state.get("FilesTotal", 0),
        safe_mode=bool(info.get("Safemode")),
    )


@dataclass(frozen=True)
class YarnHealth:
    """The ResourceManager's view of its NodeManagers; ``reachable`` False when it does not answer."""

    reachable: bool
    nodes: dict[str, str] = field(default_factory=dict)  # NodeManager address -> state (RUNNING, LOST, …)
    running_applications: int = 0
    pending_applications: int = 0

    @property
    def running_nodes(self) -> int:
        return sum(state == "RUNNING" for state in self.nodes.values())

    @property
    def healthy(self) -> bool:
        return self.reachable and self.running_nodes > 0 and self.running_nodes == len(self.nodes)

    def line(self) -> str:
        if not self.reachable:
            return "ResourceManager not answering"
        down = {addr: state for addr, state in self.nodes.items() if state != "RUNNING"}
        parts = [f"{self.running_nodes} NodeManagers running"]
        parts += [f"{addr} {state}" for addr, state in sorted(down.items())]
        parts.append(f"{self.running_applications} applications running, {self.pending_applications} waiting")
        return ", ".join(parts)


def yarn_nodes(settings: Settings) -> list[dict]:
    """Return every NodeManager the ResourceManager knows (its REST API's node records), any state."""
    body = get_json(f"{settings.yarn_web_url.rstrip('/')}/ws/v1/cluster/nodes?states=NEW,RUNNING,UNHEALTHY,"
                 "DECOMMISSIONING,DECOMMISSIONED,LOST,REBOOTED,SHUTDOWN")
    return ((body.get("nodes") or {}).get("node")) or []


def yarn_health(settings: Settings) -> YarnHealth:
    """Return YARN's health from the ResourceManager's REST API (cluster metrics and nodes)."""
    metrics = get_json(f"{settings.yarn_web_url.rstrip('/')}/ws/v1/cluster/metrics").get("clusterMetrics")
    if not metrics:
        return YarnHealth(reachable=False)
    nodes = {str(node.get("id", "?")): node.get("state", "?") for node in yarn_nodes(settings)}
    return YarnHealth(reachable=True, nodes=nodes, running_applications=metrics.get("appsRunning", 0),
                      pending_applications=metrics.get("appsPending", 0))
