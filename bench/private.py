"""A private embedded stack for a benchmark: its own data directory and free ports, stopped and removed
when the benchmark ends (``private_stack``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from embedded.ports import private_ports

if TYPE_CHECKING:
    from clickstream.settings import Settings
    from embedded.stack import Stack


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


@contextmanager
def private_stack(prefix: str, keep: bool = False) -> Generator[tuple[Settings, Stack, Path], None, None]:
    """A stack on a private data directory and free ports (``private_environment``), not yet started:
    (settings, stack, data directory). Leaving stops every process of it and removes the directory,
    unless ``keep``."""
    data_dir = private_environment(prefix)
    from clickstream.settings import get_settings
    from embedded.stack import Stack

    settings = get_settings()
    stack = Stack(settings)
    try:
        yield settings, stack, data_dir
    finally:
        stack.down()
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
