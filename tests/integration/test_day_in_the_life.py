"""A day in the life of the platform, driven as a user drives it, on a private data dir.

`make run` (twice: idempotent), `make status` (the streaming application's line too); every README
command that reads or reports, as typed; Airflow's
components report healthy and its login refuses a wrong password; Airflow starts the simulated users
and the streaming application. Then only public interfaces: the simulators' HTTP API backfills a
past day; HiveServer2 shows the stream archiving it; the Airflow REST API backfills
`clickstream_hourly` and `clickstream_daily` over it and then `clickstream_reconciliation`, which
must pass; the dashboard's loader sees every DAG's runs through the REST API, and the dashboard, in
headless Chromium, shows the numbers the tables hold, for the backfilled day and for the live
stream. Meanwhile `clickstream_alert_drill`, triggered at the start, has outlived its deadline under
the scheduler and failed: the triggerer's "is late" email, the failure email and the alerts-topic
record have all arrived. `make stop` leaves no process behind. Three stop / run cycles:
tests/integration/test_restarts.py (marked slow, not in `make test`).
"""

from __future__ import annotations

import email
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
import requests

from bench.dashboard_pages import CHROMIUM
from clickstream.settings import REPO_ROOT
from embedded.polling import wait_for
from embedded.ports import private_ports
from tests.support.kafka import read_topic
from tests.support.readme import reading_commands, run_as_typed
from tests.support.stack import (
    Airflow,
    cmdline,
    hive,
    listening_elsewhere,
    make,
    processes_using,
    tables_exist,
)


def dag_runs_seen_by_the_dashboard(base: str, password: str):
    """The dashboard's loader of DAG runs (dashboard/pipeline_data.py), pointed at this stack's Airflow."""
    from clickstream.settings import get_settings
    from dashboard.pipeline_data import last_dag_runs

    with pytest.MonkeyPatch.context() as env:
        env.setenv("CLICKSTREAM_AIRFLOW_API_URL", base)
        env.setenv("CLICKSTREAM_AIRFLOW_API_PASSWORD", password)
        get_settings.cache_clear()
        try:
            return last_dag_runs.__wrapped__()  # the loader itself, not Streamlit's cache of it
        finally:
            get_settings.cache_clear()


def shown_metric(page, label: str) -> str:
    """The value of the dashboard's st.metric with exactly this label, as Chromium renders it."""
    exact = page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{re.escape(label)}$"))
    metric = page.locator('[data-testid="stMetric"]').filter(has=exact)
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_a_day_in_the_life():
    data_dir = Path(tempfile.mkdtemp(prefix="cs-make-"))
    data_dir.chmod(0o755)
    port_env = private_ports()
    ports = [int(port_env[var]) for var in ("CLICKSTREAM_BROKER_PORT", "CLICKSTREAM_HIVE_PORT",
                                            "CLICKSTREAM_AIRFLOW_PORT", "CLICKSTREAM_PG_PORT",
                                            "CLICKSTREAM_STREAMLIT_PORT")]
    ports += [int(p) for p in port_env["CLICKSTREAM_SIM_PORTS"].split(",")]
    env = {**os.environ, "CLICKSTREAM_DATA_DIR": str(data_dir), **port_env}
    try:
        first = make("run", env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "started" in first.stdout
        for url in (f"http://127.0.0.1:{ports[2]}", f"http://127.0.0.1:{ports[4]}",
                    f"jdbc:hive2://127.0.0.1:{ports[1]}/clickstream"):
            assert url in first.stdout
        assert "Airflow login: admin / " in first.stdout
        sites = [f"http://127.0.0.1:{p}" for p in ports[5:8]]
        day = datetime.now(UTC).date() - timedelta(days=3)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)

        # The simulators backfill a past day through their collectors (HTTP API), in the background
        # while the checks below run.
        jobs = {}
        for site in sites:
            resp = requests.post(f"{site}/simulation/backfill", timeout=10, json={
                "start_date": day.isoformat(), "events_per_day": 900, "seed": 3})  # fmt: skip
            assert resp.status_code == 202, resp.text
            jobs[site] = resp.json()["id"]

        second = make("run", env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "already running" in second.stdout

        status = make("status", env, timeout=60)
        assert status.returncode == 0, status.stdout
        # 12 services and the streaming application, which `make run` waited for.
        assert status.stdout.count("healthy") == status.stdout.count("RUNNING") == 13
        assert re.search(r"streaming-app\s+RUNNING\s+healthy\s+pid \d+\s+local-\d+", status.stdout)
        assert "UNHEALTHY" not in status.stdout
        supervisord = psutil.Process(int((data_dir / "run" / "supervisord.pid").read_text()))
        tree = [supervisord, *supervisord.children(recursive=True)]
        assert len(tree) > 20  # 12 services, their workers and children
        # Airflow started the simulated users: the platform is live with no further action.

        def sites_running() -> bool:
            states = {requests.get(f"http://127.0.0.1:{p}/simulation", timeout=10).json()["state"]
                      for p in ports[5:8]}
            return states == {"running"}

        wait_for(sites_running, 120, 3, "every site's simulated users running")
        # ... and Airflow's continuous DAG has the streaming application running under spark-submit.
        wait_for(lambda: [p for p in processes_using(data_dir) if "clickstream_streaming.py" in cmdline(p)],
                 180, 3, "the streaming application running")
        # Every service, its workers and the streaming application listen on the loopback only.
        everything = [*supervisord.children(recursive=True), *processes_using(data_dir)]
        assert listening_elsewhere(everything) == []

        # --- From here on, only public interfaces: HTTP, the Airflow REST API, HiveServer2. -------
        password = re.search(r"Airflow login: admin / (\S+)", first.stdout).group(1)
        base = f"http://127.0.0.1:{ports[2]}"
        health = requests.get(f"{base}/api/v2/monitor/health", timeout=10).json()
        assert {k: v["status"] for k, v in health.items()} == {
            "metadatabase": "healthy", "scheduler": "healthy", "triggerer": "healthy",
            "dag_processor": "healthy"}  # fmt: skip
        wrong = requests.post(f"{base}/auth/token", json={"username": "admin", "password": "x"}, timeout=10)
        assert wrong.status_code == 401
        airflow = Airflow(base, password)
        # The first `make run` triggered the simulation's start; the second, on a running stack, did not.
        starts = airflow.get("dags/clickstream_simulation/dagRuns")["dag_runs"]
        assert [(r["run_type"], r["conf"]) for r in starts] == [("manual", {"action": "start"})]
        # The alert drill runs past its one-minute deadline, then fails on purpose (checked at the end).
        drill = airflow.trigger("clickstream_alert_drill", {"hold_seconds": 90})

        def backfilled():
            listed = {s: requests.get(f"{s}/simulation", timeout=10).json()["backfills"] for s in sites}
            return all(next(j for j in listed[s] if j["id"] == i)["state"] == "done"
                       for s, i in jobs.items()) or None

        wait_for(backfilled, 300, 3, "the sites' backfills")
        for site in sites:
            assert requests.post(f"{site}/simulation/flush", timeout=30).json()["outstanding"] == 0
        # Live traffic has streamed since `make run`: once the live tables hold two minutes of it, stop
        # the simulated users (HTTP API), so the tables hold still for the dashboard and the batch jobs
        # get the CPU.
        today = datetime.now(UTC).date()
        wait_for(lambda: (tables_exist(ports[1]) and hive(ports[1], (
            "SELECT COUNT(DISTINCT window_start) FROM live_metrics_latest "
            f"WHERE dim = 'app' AND dt >= '{today}'"))[0][0] >= 2) or None,
            300, 3, "two minutes of live traffic in the live tables")  # fmt: skip
        for site in sites:
            assert requests.post(f"{site}/simulation/stop", timeout=60).ok
        stopped = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=5)

        # The streaming application archives the backfilled day next to the live traffic, and drains.
        def caught_up(since: datetime):
            rows = hive(ports[1], "SELECT offsets_behind FROM stream_progress WHERE query = 'ingest' "
                                  f"AND dt >= '{since:%Y-%m-%d}' AND ts > '{since:%Y-%m-%d %H:%M:%S}' "
                                  "ORDER BY ts DESC LIMIT 1")
            # An idle query reports no offsets (NULL behind): it has read everything there is.
            return (rows and not rows[0][0]) or None

        wait_for(lambda: caught_up(stopped), 300, 3, "the stream to archive the backfilled day and drain")
        archived = dict(hive(ports[1], f"SELECT app_id, COUNT(*) FROM raw_events WHERE dt = '{day}' "
                                       "GROUP BY app_id"))
        assert set(archived) == {"shop", "news", "saas"} and min(archived.values()) > 500, archived

        # Airflow backfills the batch DAGs over the day, and reconciles the hour it built.
        hour = midnight + timedelta(hours=13)
        airflow.backfill("clickstream_hourly", hour, hour)
        airflow.backfill("clickstream_daily", midnight, midnight)
        assert airflow.finished_runs("clickstream_hourly", 1, 900) == {
            hour.isoformat().replace("+00:00", "Z"): "success"}
        airflow.backfill("clickstream_reconciliation", hour, hour)
        assert set(airflow.finished_runs("clickstream_reconciliation", 1, 600).values()) == {"success"}
        checked = hive(ports[1], "SELECT app_id, generated, sent, accepted, rejected, dead_lettered, "
                                 f"archived, aggregated, status FROM reconciliation WHERE dt = '{day}' "
                                 f"AND hr = {hour.hour} ORDER BY app_id")
        in_raw = dict(hive(ports[1], f"SELECT app_id, COUNT(*) FROM raw_events WHERE dt = '{day}' "
                                     f"AND hr = {hour.hour} GROUP BY app_id"))
        assert [(app, status) for app, *_, status in checked] == [(app, "ok") for app in sorted(in_raw)]
        for app, generated, sent, accepted, rejected, dead, raw, aggregated, _ in checked:
            assert generated == sent == accepted + rejected and rejected == dead, app
            assert accepted == raw == aggregated == in_raw[app], app
        assert airflow.finished_runs("clickstream_daily", 1, 900) == {
            midnight.isoformat().replace("+00:00", "Z"): "success"}

        # The dashboard's pipeline page reads every DAG's runs from this Airflow.
        dag_runs = dag_runs_seen_by_the_dashboard(base, password)
        assert set(dag_runs["dag_id"]) == {p.stem for p in (REPO_ROOT / "dags").glob("clickstream_*.py")}
        assert dag_runs.set_index("dag_id").loc["clickstream_reconciliation", "last_success"]

        # The dashboard, in headless Chromium, shows what the tables hold.
        from playwright.sync_api import sync_playwright

        summary = hive(ports[1], "SELECT SUM(events), SUM(page_views), SUM(sessions) FROM daily_summary "
                                 f"WHERE dt = '{day}'")[0]
        newest = hive(ports[1], "SELECT MAX(window_start) FROM live_metrics_latest WHERE dim = 'app'")[0][0]
        minute = hive(ports[1], "SELECT SUM(events), SUM(page_views) FROM live_metrics_latest "
                                f"WHERE dim = 'app' AND window_start = '{newest}'")[0]
        dashboard = f"http://127.0.0.1:{ports[4]}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{dashboard}/traffic")  # the days default to those the daily tables hold
                page.wait_for_selector('[data-testid="stMetric"]', timeout=120_000)
                page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
                assert [shown_metric(page, m) for m in ("Events", "Page views", "Sessions")] == [
                    f"{int(v):,}" for v in summary]
                page.goto(dashboard)  # Live
                page.wait_for_selector('[data-testid="stMetric"]', timeout=120_000)
                assert page.get_by_text(f"Newest minute {str(newest)[:16]} UTC").count() == 1
                assert [shown_metric(page, m) for m in ("Events this minute", "Page views this minute")] == [
                    f"{int(v):,}" for v in minute]
            finally:
                browser.close()

        # Every README command that reads or reports works as typed: from the project root, a plain PATH.
        promised = {"make status": "healthy", 'make airflow CMD="dags list"': "clickstream_hourly",
                    "make logs": "hiveserver2.log", "SHOW TABLES": "raw_events", "FROM raw_events": "shop",
                    "FROM live_metrics_latest": "shop", "FROM report_headlines": f"{day}"}
        commands = reading_commands()
        assert len(commands) == len(promised), commands
        for command in commands:
            done = run_as_typed(command, env)
            expected = next(v for k, v in promised.items() if k in command)
            assert done.returncode == 0 and expected in done.stdout, (command, done.stdout,
                                                                      done.stderr[-2000:])

        # The alert drill: the late-run email (scheduler + triggerer), the failure email and the
        # alerts-topic record (the failing task's notifiers), for a manual run without a logical date.
        drill_run = wait_for(lambda: (r := airflow.get(f"dags/clickstream_alert_drill/dagRuns/{drill}"))
                             ["state"] in ("success", "failed") and r, 180, 5, "the alert drill to end")
        assert drill_run["state"] == "failed" and drill_run["logical_date"] is None
        inbox = data_dir / "mail" / "new"
        mails = [email.message_from_bytes(p.read_bytes()) for p in inbox.iterdir()]
        drill_mails = sorted(m["Subject"] for m in mails if "clickstream_alert_drill" in m["Subject"])
        # Ordinary operation raised no false alarm: the drill's are the only mails, and every health check
        # (the first ones ran while the application started) passed on its first try.
        assert sorted(m["Subject"] for m in mails) == drill_mails
        checks = airflow.get("dags/clickstream_streaming_health/dagRuns/~/taskInstances")["task_instances"]
        retried = [(t["dag_run_id"], t["state"], t["try_number"]) for t in checks
                   if t["try_number"] > 1 or t["state"] in ("failed", "up_for_retry")]
        assert checks and not retried, retried
        assert drill_mails == [f"[clickstream] clickstream_alert_drill run {drill} is late",
                               f"[clickstream] clickstream_alert_drill.fail_on_purpose failed (run {drill})"]
        alerts = [r["value"] for r in read_topic(f"127.0.0.1:{ports[0]}", "clickstream.alerts")
                  if isinstance(r["value"], dict) and r["value"].get("kind") == "airflow_failure"]
        assert [(a["kind"], a["subject"], a["message"]) for a in alerts] == [
            ("airflow_failure", "clickstream_alert_drill.fail_on_purpose",
             f"clickstream_alert_drill.fail_on_purpose failed in run {drill} after 1 tries: "
             "alert drill: this failure is intended (held the run 90 s)")]
    finally:
        stop = make("stop", env, timeout=180)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert "no process left" in stop.stdout
    assert [p.pid for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    left = processes_using(data_dir)
    assert left == [], [cmdline(p) for p in left]
    after = make("status", env, timeout=60)
    assert after.returncode != 0 and "not running" in after.stdout
    shutil.rmtree(data_dir, ignore_errors=True)
