"""Run a micro-batch's independent writes side by side: each in a thread of its own, each its own Spark jobs.

A small batch's writes are mostly the driver's work (planning, a task's code generation, file commits,
HiveServer2 round trips), one after the other; run side by side, they overlap on the two cores, and the
batch ends, and the next one (the Live page's next numbers) starts, that much sooner (docs/streaming.md,
"Trigger").

Each thread inherits the batch's Spark local properties (``InheritableThread``: the query's id names the
files it writes). Every write is keyed by the batch id, so their order does not matter; a failure of any
fails the batch once all have ended, and Spark replays it whole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pyspark import InheritableThread

log = logging.getLogger("clickstream.streaming")


class SideBySide:
    """Runs named steps in threads: ``run`` returns each one's wall time (ms), or raises the first failure."""

    def __init__(self, **steps: Callable[[], None]):
        self.steps = steps

    def run(self) -> dict[str, float]:
        took: dict[str, float] = {}
        failed: dict[str, BaseException] = {}

        def timed(name: str, step: Callable[[], None]) -> None:
            start = time.monotonic()
            try:
                step()
            except BaseException as exc:  # noqa: BLE001 - re-raised below, once every step has ended
                failed[name] = exc
            took[name] = (time.monotonic() - start) * 1000

        threads = [InheritableThread(target=timed, args=(name, step), name=f"batch-{name}")
                   for name, step in self.steps.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for name, exc in failed.items():
            log.error("the batch's step '%s' failed: %s", name, exc)
        if failed:
            raise next(iter(failed.values()))
        return took
