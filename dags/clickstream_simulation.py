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

import pendulum
from airflow.providers.http.operators.http import HttpOperator
from airflow.providers.http.sensors.http import HttpSensor
from airflow.sdk import Param, dag, task

from clickstream.settings import SITES
from clickstream_airflow.notifiers import dag_defaults
from clickstream_airflow.simulation import accepted, backfills_done, control_requests, site_connections


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["clickstream", "simulation", "lifecycle"],
    default_args=dag_defaults(pendulum.duration(seconds=10)),
    params={
        "action": Param("start", enum=["start", "stop", "backfill", "status"]),
        "sites": Param(list(SITES), type="array", items={"type": "string", "enum": list(SITES)}),
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
        return control_requests(params)

    calls = HttpOperator.partial(
        task_id="call_sites",
        headers={"Content-Type": "application/json"},
        response_check=accepted,
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
        return site_connections(params)

    site_conns = selected_sites()
    wait = HttpSensor.partial(
        task_id="wait_for_backfills",
        endpoint="simulation",
        response_check=backfills_done,
        poke_interval=10,
        timeout=6 * 3600,
    ).expand(http_conn_id=site_conns)

    flush = HttpOperator.partial(
        task_id="flush_ledgers", endpoint="simulation/flush", method="POST",
    ).expand(http_conn_id=site_conns)

    calls >> is_backfill() >> wait >> flush


clickstream_simulation()
