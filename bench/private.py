"""A private embedded stack for a benchmark: its own data directory and free ports."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from clickstream.embedded.ports import free_ports


def private_environment(prefix: str) -> Path:
    """Point CLICKSTREAM_* at a new temporary data directory and free ports; return the directory."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    ports = free_ports(6)
    os.environ.update({
        "CLICKSTREAM_DATA_DIR": str(data_dir), "CLICKSTREAM_BROKER_PORT": str(ports[0]),
        "CLICKSTREAM_HIVE_PORT": str(ports[1]), "CLICKSTREAM_SIM_PORTS": f"{ports[2]},{ports[3]},{ports[4]}",
        "CLICKSTREAM_KAFKA_CONTROLLER_PORT": str(ports[5]),
    })  # fmt: skip
    return data_dir


def broker_pid(settings) -> int | None:
    """Return the process id of the stack's broker (its JVM), if it runs."""
    from clickstream.embedded.stack import Stack

    (status,) = Stack(settings).status(["broker"])
    return status.pid
