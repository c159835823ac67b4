"""The processes of each service of a running stack, the streaming application apart from the scheduler."""

from __future__ import annotations

import psutil

STREAMING = "streaming-app"


def service_processes(stack) -> dict[str, list[psutil.Process]]:
    """Each service's process tree; the streaming application (spark-submit's driver and its Python
    workers, run by Airflow's scheduler) as its own entry."""
    out: dict[str, list[psutil.Process]] = {}
    for status in stack.status():
        if not status.pid:
            continue
        try:
            root = psutil.Process(status.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        streaming = set()
        for proc in tree:
            try:
                if "clickstream_streaming" in " ".join(proc.cmdline()):
                    streaming |= {proc.pid, *(c.pid for c in proc.children(recursive=True))}
            except psutil.Error:
                continue
        for proc in tree:
            out.setdefault(STREAMING if proc.pid in streaming else status.name, []).append(proc)
    return out
