"""Requests to the simulated sites' control API (``/simulation/...``), and how to read their answers."""

from __future__ import annotations

import json

from airflow.sdk.exceptions import AirflowFailException


def control_requests(params: dict) -> list[dict]:
    """Return one HttpOperator request (connection, endpoint, method, body) per selected site."""
    action = params["action"]
    if action == "start":
        body = {k: params[k] for k in ("users", "rate", "seed", "duration_s")}
        endpoint, method = "simulation/start", "POST"
    elif action == "stop":
        body, endpoint, method = {}, "simulation/stop", "POST"
    elif action == "backfill":
        if not params["start_date"]:
            # Bad input: retrying cannot fix it, so fail now (and alert) instead of retrying.
            raise AirflowFailException("backfill needs start_date (and optionally end_date)")
        body = {"start_date": params["start_date"], "end_date": params["end_date"] or params["start_date"],
                "events_per_day": params["events_per_day"], "seed": params["seed"]}
        endpoint, method = "simulation/backfill", "POST"
    else:
        body, endpoint, method = None, "simulation", "GET"
    return [
        {"http_conn_id": f"sim_{site}", "endpoint": endpoint, "method": method,
         "data": json.dumps(body) if body is not None else None}
        for site in params["sites"]
    ]


def site_connections(params: dict) -> list[str]:
    """Return the HTTP connections of the selected sites."""
    return [f"sim_{site}" for site in params["sites"]]


def accepted(response) -> bool:
    """Treat 2xx, and 409 'already running' on start, as success."""
    return response.status_code < 300 or response.status_code == 409


def backfills_done(response) -> bool:
    """Return True once the site's latest backfill is done; fail if it failed."""
    jobs = response.json().get("backfills") or []
    if not jobs:
        raise ValueError("the site reports no backfill job")
    state = jobs[-1]["state"]
    if state.startswith("failed"):
        raise RuntimeError(f"backfill failed on {response.url}: {state}")
    return state == "done"
