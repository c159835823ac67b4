"""The reconciliation DAG over a backfilled day, every step real and in private names.

A shop site (the Flask app, served on a free port) backfills a past day through its own
collector: the simulator's ledger counts what it generated and sent, the collector's producer
what the broker acknowledged on the events and dead-letter topics. The streaming job archives
the events, `clickstream_hourly` aggregates one hour, and `clickstream_reconciliation` compares
them all. The expected counts are recomputed from the generator itself (same seed) and the
Event v1 contract, not read from any of the compared sources.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests
from pyarrow.fs import LocalFileSystem
from werkzeug.serving import make_server

from clickstream.contracts import hour_key, rejection_reason
from clickstream.hive import execute
from clickstream.retention import replace_parquet
from clickstream.settings import get_settings
from clickstream.topics import ensure_topics
from embedded.polling import wait_for
from embedded.ports import free_ports
from simulators.generate import backfill_seed, day_sessions
from simulators.sites import SITES
from tests.support.batch_day import content_hash, run_dag, states

DAY = date(2026, 11, 9)
HOUR = datetime(2026, 11, 9, 14, tzinfo=UTC)  # the afternoon: a busy hour
EVENTS_PER_DAY, SEED, MALFORMED = 4800, 11, 0.03
COLUMNS = "app_id, generated, sent, accepted, rejected, dead_lettered, archived, aggregated, status, message"


def expected_hour() -> tuple[int, int]:
    """(generated, rejected) of the hour, replaying the backfill's generator and the contract."""
    rng = random.Random(backfill_seed(SEED, "shop", DAY))
    generated = rejected = 0
    for batch in day_sessions(SITES["shop"], DAY, EVENTS_PER_DAY, rng, bot_share=0.05,
                              malformed_share=MALFORMED):
        for event in batch.events:
            if hour_key(event.get("event_time")) == (f"{HOUR:%Y-%m-%d}", HOUR.hour):
                generated += 1
                rejected += rejection_reason(event) is not None
    return generated, rejected


def result(settings) -> list[tuple]:
    return execute(settings, f"SELECT {COLUMNS} FROM reconciliation "
                             f"WHERE dt = '{HOUR:%Y-%m-%d}' AND hr = {HOUR.hour}")


@pytest.fixture(scope="module")
def backfilled(broker, hiveserver2, airflow_db, tmp_path_factory):
    """The day backfilled by a real site, archived by the streaming job, the hour built by its DAG."""
    from simulators.app import create_app
    from tests.support.streaming_job import failure, run_job

    root = tmp_path_factory.mktemp("reconcile")
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "CLICKSTREAM_HIVE_DATABASE": "reconcile_e2e",
            "CLICKSTREAM_WAREHOUSE_URI": (root / "warehouse").as_uri(),
            "CLICKSTREAM_TOPIC_EVENTS": "reconcile_e2e.events",
            "CLICKSTREAM_TOPIC_DLQ": "reconcile_e2e.dlq",
            "CLICKSTREAM_BATCH_START": f"{DAY - timedelta(days=1):%Y-%m-%d}T00:00:00+00:00",
        }.items():
            env.setenv(name, value)
        get_settings.cache_clear()  # the app and the DAG files read settings
        settings = get_settings()
        ensure_topics(settings)
        execute(settings, f"CREATE DATABASE IF NOT EXISTS {settings.hive_database}", database=None)
        (port,) = free_ports(1)
        app = create_app("shop", test_config={"SELF_URL": f"http://127.0.0.1:{port}", "LATENCY_SCALE": 0,
                                              "SPILL_DIR": str(root)})
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{port}"
        try:
            job = requests.post(f"{base}/simulation/backfill", timeout=10, json={
                "start_date": DAY.isoformat(), "events_per_day": EVENTS_PER_DAY, "seed": SEED,
                "malformed_share": MALFORMED}).json()  # fmt: skip

            def backfilled() -> bool:
                jobs = requests.get(f"{base}/simulation", timeout=10).json()["backfills"]
                return next(j for j in jobs if j["id"] == job["id"])["state"] == "done"

            wait_for(backfilled, 180, 1, "the backfill")
            assert requests.post(f"{base}/simulation/flush", timeout=30).json()["outstanding"] == 0
        finally:
            server.shutdown()
            app.extensions["clickstream.shutdown"]()
        streamed = run_job(settings, "--mode", "available-now")
        assert streamed.returncode == 0, failure(streamed)
        hourly = states(run_dag("clickstream_hourly", HOUR + timedelta(hours=1), retries=0))
        assert set(hourly.values()) == {"success"}, hourly
        yield settings
    get_settings.cache_clear()


def test_the_hourly_dag_aggregated_the_hour_and_a_rerun_leaves_it_identical(backfilled):
    where = f"dt = '{HOUR:%Y-%m-%d}' AND hr = {HOUR.hour}"
    expected = {(app, page): (n, views) for app, page, n, views in execute(backfilled, (
        "SELECT app_id, page, count(*), sum(if(event_type = 'page_view', 1, 0)) FROM raw_events "
        f"WHERE {where} GROUP BY app_id, page"))}  # fmt: skip
    got = {(app, page): (n, views) for app, page, n, views in execute(backfilled, (
        f"SELECT app_id, page, events, page_views FROM hourly_pages WHERE {where}"))}  # fmt: skip
    assert got == expected and len(got) > 3
    before = {t: content_hash(backfilled, t, where) for t in ("hourly_pages", "hourly_sections")}
    # The rerun recomputes (the job); waiting, DDL, registration and checks passed in the fixture.
    again = run_dag("clickstream_hourly", HOUR + timedelta(hours=1), retries=0,
                    mark_success_pattern=("wait_for_stream|create_tables|add_missing_columns|"
                                          "register_partitions|check_hourly"))
    assert set(states(again).values()) == {"success"}
    assert {t: content_hash(backfilled, t, where) for t in before} == before


def test_a_backfilled_hour_reconciles_with_every_count_as_generated(backfilled):
    run = run_dag("clickstream_reconciliation", HOUR + timedelta(hours=1), retries=0)
    assert states(run) == {"wait_for_hourly": "success", "reconcile": "success"}
    generated, rejected = expected_hour()
    accepted = generated - rejected
    assert rejected > 0  # the dead-letter comparison is exercised
    assert result(backfilled) == [
        ("shop", generated, generated, accepted, rejected, rejected, accepted, accepted, "ok", "")]


def test_an_event_lost_from_raw_events_fails_the_hour_naming_the_numbers(backfilled):
    hour_dir = (backfilled.table_path("raw_events").removeprefix("file://")
                + f"/dt={HOUR:%Y-%m-%d}/hr={HOUR.hour}")
    path = sorted(Path(hour_dir).glob("*.parquet"))[0]
    filesystem = LocalFileSystem()
    table = pq.read_table(path)
    replace_parquet(filesystem, str(path), table.slice(1))  # one archived event is gone
    try:
        run = run_dag("clickstream_reconciliation", HOUR + timedelta(hours=1), retries=0)
        assert states(run)["reconcile"] == "failed"
        generated, rejected = expected_hour()
        accepted = generated - rejected
        assert result(backfilled) == [(
            "shop", generated, generated, accepted, rejected, rejected, accepted - 1, accepted, "mismatch",
            f"shop: the collector accepted {accepted} events but raw_events holds {accepted - 1} (-1); "
            f"shop: raw_events holds {accepted - 1} events but hourly_pages counts {accepted} (+1)")]
    finally:
        replace_parquet(filesystem, str(path), table)
