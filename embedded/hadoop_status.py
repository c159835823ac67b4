"""What the embedded cluster's daemons report: the health checks supervisord's start waits on (the
NameNode out of safe mode, each DataNode live, the ResourceManager started, a NodeManager running) and
YARN's view of its applications, from their web services."""

from __future__ import annotations

import json
from collections.abc import Callable

from clickstream.settings import Settings
from ops import cluster_health


def namenode_healthy(settings: Settings) -> bool:
    """Return whether the NameNode answers and has left safe mode (files can be written)."""
    health = cluster_health.hdfs_health(settings)
    return health.reachable and not health.safe_mode


def live_datanodes(settings: Settings) -> set[int]:
    """Return the data transfer ports of the DataNodes the NameNode counts as live."""
    info = cluster_health.namenode_bean(settings, "NameNodeInfo")
    try:
        nodes = json.loads(info.get("LiveNodes") or "{}")
    except ValueError:
        return set()
    return {int(node["xferaddr"].rsplit(":", 1)[1]) for node in nodes.values() if "xferaddr" in node}


def datanode_healthy(index: int) -> Callable[[Settings], bool]:
    """Return a check that the NameNode counts DataNode `index` (by its data transfer port) as live."""

    def check(settings: Settings) -> bool:
        return settings.datanode_ports[index - 1] in live_datanodes(settings)

    return check


def resourcemanager_healthy(settings: Settings) -> bool:
    """Return whether the ResourceManager has started."""
    info = cluster_health.get_json(f"{settings.yarn_web_url}/ws/v1/cluster/info").get("clusterInfo", {})
    return info.get("state") == "STARTED"


def nodemanager_healthy(settings: Settings) -> bool:
    """Return whether a NodeManager is RUNNING in the ResourceManager's view."""
    return any(node.get("state") == "RUNNING" for node in cluster_health.yarn_nodes(settings))


def application(settings: Settings, app_id: str) -> dict:
    """Return YARN's report of one application (state, final status, tracking URL), or {}."""
    return cluster_health.get_json(f"{settings.yarn_web_url}/ws/v1/cluster/apps/{app_id}").get("app", {})


def applications(settings: Settings) -> list[dict]:
    """Return every application the ResourceManager knows (name, state, final status, …)."""
    body = cluster_health.get_json(f"{settings.yarn_web_url}/ws/v1/cluster/apps")
    return ((body.get("apps") or {}).get("app")) or []


def attempts(settings: Settings, app_id: str) -> list[dict]:
    """Return the attempts (ApplicationMaster containers) YARN made of one application."""
    body = cluster_health.get_json(f"{settings.yarn_web_url}/ws/v1/cluster/apps/{app_id}/appattempts")
    return ((body.get("appAttempts") or {}).get("appAttempt")) or []
