"""End to end: backfilled days → collector → broker → streaming job → clickstream_hourly and
clickstream_daily with dag.test() (real spark-submit, real beeline HiveOperator, real HiveServer2).

Each table is then read through HiveServer2 and compared with a recomputation from raw_events;
a second run of each DAG must leave every partition's sorted content unchanged.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from clickstream.hive import execute
from clickstream.settings import REPO_ROOT
from tests.integration.test_streaming_job import run_job

pytestmark = pytest.mark.integration

DAY = datetime.now(UTC).date() - timedelta(days=3)
DAILY = ("sessions", "daily_pages", "daily_sections", "daily_paths", "daily_funnels", "daily_geo",
         "daily_channels", "daily_devices", "daily_hours", "daily_summary")
REPORTS = ("report_page_traffic", "report_section_engagement", "report_sessions", "report_errors",
           "report_headlines")


def run_dag(dag_id: str, logical_date: datetime, mark_success_pattern: str | None = None,
            retries: int | None = None):
    """Parse the DAG afresh and dag.test() it for the interval that ends at logical_date."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / f"{dag_id}.py"))
    assert bag.import_errors == {}
    if retries is not None:
        for task in bag.dags[dag_id].tasks:
            task.retries = retries
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    return bag.dags[dag_id].test(logical_date=logical_date, mark_success_pattern=mark_success_pattern)


def states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def content_hash(settings, table: str, where: str) -> str:
    rows = sorted(repr(r) for r in execute(settings, f"SELECT * FROM {table} WHERE {where}"))
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def archived_day(sites, hiveserver2, airflow_db, settings):
    """Two sites' backfill of one past day, archived by the streaming job (available-now)."""
    for site in ("shop", "saas"):
        resp = requests.post(f"{sites[site]}/simulation/backfill", timeout=10, json={
            "start_date": DAY.isoformat(), "events_per_day": 1500, "seed": 7})  # fmt: skip
        assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + 180
    for site in ("shop", "saas"):
        while time.monotonic() < deadline:
            jobs = requests.get(f"{sites[site]}/simulation", timeout=10).json()["backfills"]
            if jobs and all(j["state"] == "done" for j in jobs):
                break
            time.sleep(1)
        assert requests.post(f"{sites[site]}/simulation/flush", timeout=30).json()["outstanding"] == 0
    job = run_job(settings, "--mode", "available-now")
    assert job.returncode == 0, job.stderr[-3000:]
    return DAY


def test_hourly_dag_writes_its_hour_and_reruns_identically(archived_day, settings):
    hour = datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=UTC)
    run = run_dag("clickstream_hourly", hour + timedelta(hours=1))
    assert set(states(run).values()) == {"success"}, states(run)
    where = f"dt = '{DAY}' AND hr = 12"
    expected = dict(((app, page), (n, views)) for app, page, n, views in execute(settings, (
        "SELECT app_id, page, count(*), sum(if(event_type = 'page_view', 1, 0)) FROM raw_events "
        f"WHERE {where} GROUP BY app_id, page")))  # fmt: skip
    got = dict(((app, page), (n, views)) for app, page, n, views in execute(settings, (
        f"SELECT app_id, page, events, page_views FROM hourly_pages WHERE {where}")))  # fmt: skip
    assert got == expected and {app for app, _ in got} == {"shop", "saas"}
    before = {t: content_hash(settings, t, where) for t in ("hourly_pages", "hourly_sections")}
    again = run_dag("clickstream_hourly", hour + timedelta(hours=1))
    assert set(states(again).values()) == {"success"}
    assert {t: content_hash(settings, t, where) for t in before} == before


def test_daily_dag_produces_every_table_and_reruns_identically(archived_day, settings):
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    run = run_dag("clickstream_daily", midnight + timedelta(days=1))
    assert set(states(run).values()) == {"success"}, states(run)
    where = f"dt = '{DAY}'"
    counts = {t: execute(settings, f"SELECT count(*) FROM {t} WHERE {where}")[0][0] for t in DAILY + REPORTS}
    assert all(n > 0 for n in counts.values()), counts

    # Per-page views and users, recomputed from raw_events by Hive itself.
    expected = {(a, p): (v, u) for a, p, v, u in execute(settings, (
        "SELECT app_id, page, sum(if(event_type = 'page_view', 1, 0)), count(DISTINCT user_id) "
        f"FROM raw_events WHERE {where} GROUP BY app_id, page"))}  # fmt: skip
    got = {(a, p): (v, u) for a, p, v, u in execute(settings, (
        f"SELECT app_id, page, page_views, unique_users FROM daily_pages WHERE {where}"))}  # fmt: skip
    assert got == expected
    # Funnels only lose users from step to step; every site's funnel is there.
    funnels: dict[str, list[int]] = {}
    for app, _step, users in execute(settings, f"SELECT app_id, step, users FROM daily_funnels WHERE {where} "
                                              "ORDER BY app_id, step"):
        funnels.setdefault(app, []).append(users)
    assert set(funnels) == {"shop", "news", "saas"}
    assert all(a >= b for steps in funnels.values() for a, b in zip(steps, steps[1:], strict=False))
    assert funnels["shop"][0] > 0
    # The reports say what the tables hold.
    share = execute(settings, f"SELECT traffic_pct, headline, page FROM report_page_traffic WHERE {where} "
                              "AND app_id = 'shop' ORDER BY page_views DESC LIMIT 1")[0]
    assert share[1] == f"{share[2]} accounts for {share[0]}% of shop traffic"
    carts = execute(settings, f"SELECT add_to_cart FROM daily_summary WHERE {where} "
                              "AND app_id = 'shop'")[0][0]
    raw_carts = execute(settings, f"SELECT count(*) FROM raw_events WHERE {where} AND app_id = 'shop' "
                                  "AND event_type = 'add_to_cart'")[0][0]
    assert carts == raw_carts > 0
    headline = execute(settings, f"SELECT headline FROM report_headlines WHERE {where} AND app_id = 'shop' "
                                 "AND metric = 'add_to_cart'")[0][0]
    assert headline == f"Add-to-cart button clicked {raw_carts:,} times"

    before = {t: content_hash(settings, t, where) for t in DAILY + REPORTS}
    again = run_dag("clickstream_daily", midnight + timedelta(days=1))
    assert set(states(again).values()) == {"success"}
    assert {t: content_hash(settings, t, where) for t in before} == before


def test_a_failed_check_fails_the_run_and_names_the_check(archived_day, settings, spark, capfd):
    """Break one breakdown of the daily tables; only the checks run (the job would repair it)."""
    where = f"dt = '{DAY}'"
    path = f"{settings.table_path('daily_channels')}/dt={DAY}"
    channels = spark.read.parquet(path)
    rows = channels.count()
    doubled = channels.unionByName(channels).localCheckpoint()  # every channel's sessions counted twice
    doubled.coalesce(1).write.mode("overwrite").parquet(path)
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    run = run_dag("clickstream_daily", midnight + timedelta(days=1),
                  mark_success_pattern="wait_for_hours|create_tables|daily_job|register_partitions",
                  retries=0)
    task_states = states(run)
    assert task_states["check_daily"] == "failed"
    assert all(task_states[r] == "upstream_failed" for r in REPORTS)
    log = capfd.readouterr()
    output = log.out + log.err
    assert "The following tests have failed" in output and "channels_sum_to_sessions" in output
    assert "Check: sessions_sum" not in output  # only the broken check is named
    assert execute(settings, f"SELECT count(*) FROM daily_channels WHERE {where}")[0][0] == 2 * rows
