"""Re-take the dashboard's screenshots (README, docs/) from a realistic stack. Not a benchmark.

Usage: python -m bench.screenshots [--users 100] [--days 7] [--events-per-day 20000]
       [--out docs/screenshots]

Like the benchmarks, it runs a private stack started as `make run` starts it (free ports, a
temporary data directory), and takes the path a user takes (docs/operations.md, "Backfilling past
days"):

1. the simulated users run live, ``--users`` per site (clickstream_simulation, ``start``);
2. the simulators generate the last ``--days`` days through their collectors
   (clickstream_simulation, ``backfill``, ``--events-per-day`` per site) and the streaming
   application archives them;
3. ``airflow backfill create`` builds those days with clickstream_daily (reports included). The
   hourly tables of the days are built by one run of the hourly job over the whole span and their
   partitions registered, as the 24 × days runs of clickstream_hourly would (those would take an hour
   a week on two cores);
4. headless Chromium opens every page of the stack's own dashboard, waits until the script has
   finished and every chart is drawn, and saves it (full page, 1400 px wide) as
   ``<page>-light.png``, and ``<page>-dark.png`` for the pages in DARK.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.dashboard_pages import CHROMIUM, PAGES, drawn
from bench.private import private_stack
from bench.simulated_users import run_simulation_dag
from clickstream.settings import REPO_ROOT

DARK = ("live", "report", "navigation")


def backfill_daily(settings, api, first, last, timeout: float = 3600) -> None:
    """`airflow backfill create` clickstream_daily over [first, last] and wait until every run succeeded."""
    from embedded.environment import VENV_BIN, stack_env
    from embedded.polling import wait_for

    subprocess.run([str(VENV_BIN / "airflow"), "backfill", "create", "--dag-id", "clickstream_daily",
                    "--from-date", first.isoformat(), "--to-date", last.isoformat()],
                   env=stack_env(settings), check=True, capture_output=True, timeout=300)
    days = {(first + timedelta(days=d)).isoformat() for d in range((last - first).days + 1)}

    def finished() -> dict | None:
        runs = {r["data_interval_start"][:10]: r["state"]
                for r in api.dag_runs("clickstream_daily", limit=100)}
        states = {day: runs.get(day) for day in days}
        return states if all(s in ("success", "failed") for s in states.values()) else None

    states = wait_for(finished, timeout, 10, "the daily backfill")
    if set(states.values()) != {"success"}:
        raise SystemExit(f"daily backfill: {states}")


def shoot(base: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            for scheme in ("light", "dark"):
                tab = browser.new_page(viewport={"width": 1400, "height": 1000}, color_scheme=scheme)
                for page in PAGES if scheme == "light" else DARK:
                    drawn(tab, f"{base}/{'' if page == 'live' else page}")
                    time.sleep(1)  # the charts' entry animation
                    path = out / f"{page}-{scheme}.png"
                    tab.screenshot(path=path, full_page=True)
                    saved.append(path)
                tab.close()
        finally:
            browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100, help="live simulated users per site")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--events-per-day", type=int, default=20_000, help="per site")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()

    from clickstream.streaming import monitor
    from embedded.environment import stack_api
    from embedded.polling import wait_for
    from embedded.streaming_app import wait_running

    today = datetime.now(UTC).date()
    first, last = today - timedelta(days=args.days), today - timedelta(days=1)
    with private_stack("cs-screenshots-", keep=args.keep) as (settings, stack, data_dir):
        stack.up(lifecycle=True)
        if not wait_running(settings, 600):
            raise SystemExit("the streaming application did not start")
        api = stack_api(settings)
        run_simulation_dag(api, {"action": "stop"})
        run_simulation_dag(api, {"action": "start", "users": args.users})
        run_simulation_dag(api, {"action": "backfill", "start_date": first.isoformat(),
                                 "end_date": last.isoformat(), "events_per_day": args.events_per_day},
                           timeout=3600)
        wait_for(lambda: (lag := monitor.lag(settings)) is not None and sum(lag.values()) < 1000, 1800, 5,
                 "the streaming application to archive the backfill")
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        from embedded.build import build_hours

        build_hours(settings, start, start + timedelta(days=args.days))
        backfill_daily(settings, api, first, last)
        time.sleep(60)  # a few more minutes of live traffic on the live pages
        args.out.mkdir(parents=True, exist_ok=True)
        for path in shoot(f"http://127.0.0.1:{settings.streamlit_port}", args.out):
            print(path)


if __name__ == "__main__":
    main()
