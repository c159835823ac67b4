"""A private embedded stack for a benchmark: its own data directory and free ports."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from embedded.ports import private_ports


def private_environment(prefix: str) -> Path:
    """Point CLICKSTREAM_* at a new temporary data directory and free ports; return the directory."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    data_dir.chmod(0o755)  # PostgreSQL runs as its own OS user when the bench runs as root
    os.environ.update({"CLICKSTREAM_DATA_DIR": str(data_dir), **private_ports()})
    return data_dir


def broker_pid(settings) -> int | None:
    """Return the process id of the stack's broker (its JVM), if it runs."""
    from embedded.stack import Stack

    (status,) = Stack(settings).status(["broker"])
    return status.pid
