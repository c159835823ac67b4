"""The clickstream_simulation DAG, run with dag.test() against the sites as `make run` serves them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import requests

from clickstream.contracts import rejection_reason
from clickstream.settings import REPO_ROOT
from simulators.generate import backfill_seed, day_sessions
from simulators.sites import SITES
from tests.support.kafka import read_topic


def run_dag(conf: dict):
    """Parse the DAG afresh and dag.test() it (a DAG object keeps the params of its last run)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "clickstream_simulation.py"))
    assert bag.import_errors == {}
    return bag.dags["clickstream_simulation"].test(run_conf=conf)


def states(dag_run) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for ti in dag_run.get_task_instances():
        out.setdefault(ti.task_id, set()).add(ti.state)
    return out


def test_backfill_action_generates_every_site_through_the_collectors(airflow_db, sites, settings):
    day = datetime.now(UTC).date() - timedelta(days=5)
    run = run_dag({"action": "backfill", "start_date": day.isoformat(), "events_per_day": 400,
                   "seed": 77})
    assert run.state == "success", states(run)
    assert states(run) == {t: {"success"} for t in ("plan_requests", "call_sites", "is_backfill",
                                                    "selected_sites", "wait_for_backfills",
                                                    "flush_ledgers")}
    on_topic = {r["value"]["event_id"] for r in read_topic(settings.kafka_bootstrap,
                                                           settings.topic_events)
                if isinstance(r["value"], dict)}
    for site, base in sites.items():
        job = requests.get(f"{base}/simulation", timeout=10).json()["backfills"][-1]
        assert (job["state"], job["events_sent"], job["start_date"]) == ("done", 400, day.isoformat())
        rng = random.Random(backfill_seed(77, site, day))
        expected = {e["event_id"] for b in day_sessions(SITES[site], day, 400, rng)
                    for e in b.events if rejection_reason(e) is None}
        assert expected and expected <= on_topic


def test_start_is_idempotent_and_stop_stops_every_site(airflow_db, sites):
    run = run_dag({"action": "start", "users": 2, "rate": 20, "seed": 3})
    assert run.state == "success", states(run)
    assert states(run)["wait_for_backfills"] == {"skipped"}
    assert {requests.get(f"{b}/simulation", timeout=10).json()["state"] for b in sites.values()} \
        == {"running"}
    again = run_dag({"action": "start", "users": 2})
    assert again.state == "success"  # 409 "already running" counts as started
    stopped = run_dag({"action": "stop"})
    assert stopped.state == "success"
    for base in sites.values():
        status = requests.get(f"{base}/simulation", timeout=10).json()
        assert status["state"] == "idle"
        assert status["params"]["users"] == 2
        # Every event generated is accounted once: sent, or unsent when its post failed as the users stopped
        # (a loaded machine can time a post out then). The ledger is the record (simulators/in_flight.py).
        ledger = status["ledger"]
        assert ledger["generated"] == ledger.get("sent", 0) + ledger.get("unsent", 0), status
        assert ledger.get("unsent", 0) <= status["counters"]["generated"] // 10, status


def test_backfill_without_dates_fails_clearly(airflow_db, sites):
    run = run_dag({"action": "backfill"})
    assert run.state == "failed", states(run)
    assert states(run)["plan_requests"] == {"failed"}
