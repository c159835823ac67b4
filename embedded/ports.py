"""Free TCP ports for private stacks (tests, benchmarks)."""

from __future__ import annotations

import socket

# Every port a stack listens on, by the variable that sets it (clickstream/settings.py).
PORT_VARS = (
    "CLICKSTREAM_BROKER_PORT",
    "CLICKSTREAM_KAFKA_CONTROLLER_PORT",
    "CLICKSTREAM_HIVE_PORT",
    "CLICKSTREAM_AIRFLOW_PORT",
    "CLICKSTREAM_PG_PORT",
    "CLICKSTREAM_STREAMLIT_PORT",
    "CLICKSTREAM_SMTP_PORT",
    "CLICKSTREAM_NAMENODE_PORT",
    "CLICKSTREAM_NAMENODE_HTTP_PORT",
    "CLICKSTREAM_YARN_PORT",
    "CLICKSTREAM_YARN_SCHEDULER_PORT",
    "CLICKSTREAM_YARN_TRACKER_PORT",
    "CLICKSTREAM_YARN_ADMIN_PORT",
    "CLICKSTREAM_YARN_WEB_PORT",
)


def free_ports(n: int) -> list[int]:
    """Return n distinct TCP ports free on the loopback interface right now."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def private_ports() -> dict[str, str]:
    """Return a CLICKSTREAM_* port variable for every port of a stack (sites, DataNodes), all free now."""
    ports = free_ports(len(PORT_VARS) + 5)
    env = {var: str(port) for var, port in zip(PORT_VARS, ports, strict=False)}
    env["CLICKSTREAM_SIM_PORTS"] = ",".join(str(p) for p in ports[-5:-2])
    env["CLICKSTREAM_DATANODE_PORTS"] = ",".join(str(p) for p in ports[-2:])
    return env
