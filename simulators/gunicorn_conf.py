"""Gunicorn's hooks for the sites (``gunicorn --config python:simulators.gunicorn_conf``).

At a stop (SIGTERM: `make stop`, a container's stop) the worker stops serving, and Python would then
wait for the simulated users' threads before running any atexit handler: the users would keep
generating for a site that takes nothing more, until the process is killed without its ledger's last
flush. The worker's exit hook stops them first and settles the ledger (simulators/app.py, shutdown).
"""

from __future__ import annotations


def worker_exit(server, worker) -> None:
    """Stop the site's simulated users, account what they hold, flush the ledger."""
    app = getattr(worker, "wsgi", None)
    shutdown = getattr(app, "extensions", {}).get("clickstream.shutdown")
    if shutdown is not None:
        shutdown()
