"""One `make run` or `make stop` at a time per data directory.

`make run` started while `make stop` is still stopping (or two `make run` at once) would start
services the other is stopping, and leave a half-started stack. Each takes an exclusive lock on
``<data dir>/run/stack.lock`` (``flock``: released by the kernel when its holder exits, however it
exits) and writes who holds it there; the second waits for the first, saying what it waits for.
`make status` does not wait: it says what is in progress.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


class StackBusy(RuntimeError):
    """Another command held the stack for longer than this one would wait."""


class StackLock:
    """The lock of one data directory's stack."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / "stack.lock"

    def holder(self) -> dict | None:
        """Who holds the lock now ({"pid", "command", "since"}), or None when nobody does."""
        if not self.path.exists():
            return None
        with self.path.open("r") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    return json.loads(self.path.read_text() or "{}") or {"pid": None, "command": "?"}
                except ValueError:
                    return {"pid": None, "command": "?"}
            fcntl.flock(fh, fcntl.LOCK_UN)
        return None

    @contextmanager
    def hold(self, command: str, wait_s: float, say: Callable[[str], None] = print) -> Generator[None]:
        """Hold the lock while the block runs; wait up to wait_s for another holder, telling the user once."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + wait_s
            told = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    other = describe(self._read(fd))
                    if time.monotonic() > deadline:
                        raise StackBusy(f"{other} is still running after {wait_s:.0f} s; "
                                        "try again when it has finished") from None
                    if not told:
                        say(f"Waiting for {other} to finish…")
                        told = True
                    time.sleep(0.5)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": command,
                                      "since": datetime.now(UTC).isoformat(timespec="seconds")}).encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @staticmethod
    def _read(fd: int) -> dict:
        try:
            return json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        except ValueError:
            return {}


def describe(holder: dict | None) -> str:
    """Say what holds the stack, for a person: "`make stop` (pid 123, since 10:01:02 UTC)"."""
    if not holder:
        return "another `make run` or `make stop`"
    since = holder.get("since", "")
    at = f", since {since[11:19]} UTC" if len(since) >= 19 else ""
    return f"`make {holder.get('command', '?')}` (pid {holder.get('pid')}{at})"
