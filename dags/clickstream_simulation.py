"""
### clickstream_simulation

Start, stop or backfill the simulated users of the three sites (shop, news,
saas) through each site's control API (`/simulation/...`), using the
`sim_<site>` HTTP connections.

Trigger it manually with params:

| param | used by | meaning |
|---|---|---|
| `action` | all | `start`, `stop`, `backfill` or `status` |
| `sites` | all | which sites (default: all three) |
| `users`, `rate`, `seed`, `duration_s` | start | 10 users each; `rate` compresses time (1 = real) |
| `start_date`, `end_date`, `events_per_day` | backfill | past days to generate through the collector |

`start` is idempotent: a site that is already running answers 409 and
counts as started. `backfill` waits until every site has sent its days,
then flushes the ground-truth ledger, so downstream backfills of the
hourly and daily DAGs find the events archived.
"""

from __future__ import annotations

import json

import pendulum
from airflow.providers.http.operators.http import HttpOperator
from airflow.providers.http.sensors.http import HttpSensor
from airflow.sdk import Param, dag, task

from clickstream.notify import dag_defaults

SITES = ["shop", "news", "saas"]


def _accepted(response) -> bool:
    """Treat 2xx, and 409 'already running' on start, as success."""
    return response.status_code < 300 or response.status_code == 409


def _backfills_done(response) -> bool:
    """Return True once the site's latest backfill is done; fail if it failed."""
    jobs = response.json().get("backfills") or []
    if not jobs:
        raise ValueError("the site reports no backfill job")
    state = jobs[-1]["state"]
    if state.startswith("failed"):
        raise RuntimeError(f"backfill failed on {response.url}: {state}")
    return state == "done"


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["clickstream", "simulation", "lifecycle"],
    default_args=dag_defaults(pendulum.duration(seconds=10)),
    params={
        "action": Param("start", enum=["start", "stop", "backfill", "status"]),
        "sites": Param(SITES, type="array", items={"type": "string", "enum": SITES}),
        "users": Param(10, type="integer", minimum=1, maximum=5000),
        "rate": Param(1.0, type="number", minimum=0.01),
        "seed": Param(42, type="integer"),
        "duration_s": Param(None, type=["null", "number"]),
        "start_date": Param(None, type=["null", "string"], format="date"),
        "end_date": Param(None, type=["null", "string"], format="date"),
        "events_per_day": Param(20000, type="integer", minimum=1),
    },
    render_template_as_native_obj=False,
    doc_md=__doc__,
)
def clickstream_simulation():
    @task
    def plan_requests(params: dict) -> list[dict]:
        """Build one control-API request per selected site."""
        action = params["action"]
        if action == "start":
            body = {k: params[k] for k in ("users", "rate", "seed", "duration_s")}
            endpoint, method = "simulation/start", "POST"
        elif action == "stop":
            body, endpoint, method = {}, "simulation/stop", "POST"
        elif action == "backfill":
            if not params["start_date"]:
                from airflow.sdk.exceptions import AirflowFailException

                # Bad input: retrying cannot fix it, so fail now (and alert) instead of retrying.
                raise AirflowFailException("backfill needs start_date (and optionally end_date)")
            body = {"start_date": params["start_date"],
                    "end_date": params["end_date"] or params["start_date"],
                    "events_per_day": params["events_per_day"], "seed": params["seed"]}
            endpoint, method = "simulation/backfill", "POST"
        else:
            body, endpoint, method = None, "simulation", "GET"
        return [
            {"http_conn_id": f"sim_{site}", "endpoint": endpoint, "method": method,
             "data": json.dumps(body) if body is not None else None}
            for site in params["sites"]
        ]

    calls = HttpOperator.partial(
        task_id="call_sites",
        headers={"Content-Type": "application/json"},
        response_check=_accepted,
        extra_options={"check_response": False},
        log_response=True,
    ).expand_kwargs(plan_requests())

    @task.short_circuit
    def is_backfill(params: dict) -> bool:
        """Continue to the wait only for backfills."""
        return params["action"] == "backfill"

    @task
    def selected_sites(params: dict) -> list[str]:
        """Return the connections of the selected sites."""
        return [f"sim_{site}" for site in params["sites"]]

    site_conns = selected_sites()
    wait = HttpSensor.partial(
        task_id="wait_for_backfills",
        endpoint="simulation",
        response_check=_backfills_done,
        poke_interval=10,
        timeout=6 * 3600,
    ).expand(http_conn_id=site_conns)

    flush = HttpOperator.partial(
        task_id="flush_ledgers", endpoint="simulation/flush", method="POST",
    ).expand(http_conn_id=site_conns)

    calls >> is_backfill() >> wait >> flush


clickstream_simulation()
