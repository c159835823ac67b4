"""The dashboard served by `streamlit run`, opened page by page in headless Chromium (Playwright).

The dashboard reads four built days of a week (tests/support/batch_week.py), the pages' default range.
Each page must draw its charts without an error or exception box; a screenshot of each page (light theme, and
dark for two of them) goes to artifacts/screenshots/ (CLICKSTREAM_ARTIFACTS overrides the directory).
The README's screenshots come from `make screenshots` (bench/screenshots.py) instead.

The numbers the browser shows are read off the page (the metrics' text) and out of the CSV files
its download buttons save, and compared with HiveQL over raw_events (tests/support/raw_truth.py),
not with the tables the pages read: totals over the week, and averages over it (time on page, time in
view per section), which a page must weigh by each day's measurements, not by day.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path

import pytest

from bench.dashboard_pages import CHART, CHROMIUM, PAGES
from clickstream.hive import execute
from clickstream.settings import REPO_ROOT
from embedded.ports import free_ports
from tests.support import raw_truth
from tests.support.batch_week import DAYS
from tests.support.serving import dashboard as serve_dashboard

DARK = ("live", "navigation")
WEEK = f"dt BETWEEN '{DAYS[0]}' AND '{DAYS[-1]}'"


@pytest.fixture(scope="module")
def dashboard(built_week):
    (port,) = free_ports(1)
    with serve_dashboard(port) as base:
        yield base


def expected_numbers(settings) -> dict[str, dict[str, str]]:
    """Per page, metric label -> the text it must show, from raw_events: the four days (the pages'
    default range: the last seven days the daily tables hold)."""
    views = f"{sum(raw_truth.page_views(settings, day) for day in DAYS):,}"
    sessions = f"{sum(sum(raw_truth.session_starts(settings, day).values()) for day in DAYS):,}"

    def events(where: str) -> str:
        return f"{raw_truth.scalar(settings, f'SELECT count(*) FROM raw_events WHERE {where}'):,}"

    return {
        "live": {"Events this minute": events(raw_truth.last_minutes(settings, 1))},
        "report": {"Page views": views, "Sessions": sessions},
        "traffic": {"Page views": views, "Events": events(WEEK)},
        "sessions": {"Sessions": sessions},
        "audience": {"Sessions": sessions},
        # Everything the stream read from the topic is archived: valid events, or rejected ones.
        "pipeline": {"Records on the topic (end offsets)": f"{topic_records(settings):,}"},
    }


def topic_records(settings) -> int:
    return sum(raw_truth.scalar(settings, f"SELECT count(*) FROM {t}") for t in ("raw_events", "bad_events"))


# Per page: the CSV download of a chart's data, and the column its total is taken of.
CHART_TABLES = {
    "live": ("devices now", "events"),
    "report": ("report totals", "page_views"),
    "traffic": ("pages", "page_views"),
    "sections": ("sections", "button_clicks"),
    "navigation": ("top paths", "occurrences"),
    "geography": ("countries", "page_views"),
    "performance": ("hours", "page_views"),
    "sessions": ("session durations", "sessions"),
    "audience": ("devices", "sessions"),
    "pipeline": ("topic partitions", "end_offset"),  # the topic's first offsets are 0: nothing expired
}


def expected_chart_totals(settings) -> dict[str, int]:
    """Per page, the total its chart's table must sum to over the week, from raw_events."""
    def count(where: str) -> int:
        return raw_truth.scalar(settings, f"SELECT count(*) FROM raw_events WHERE {where}")

    views = sum(raw_truth.page_views(settings, day) for day in DAYS)
    sessions = sum(sum(raw_truth.session_starts(settings, day).values()) for day in DAYS)
    # The table under the Sankey diagram: each day keeps each site's ten most frequent three-page
    # sequences of its sessions (ties kept); over the week a path counts what it counted on those days;
    # the table lists the 50 paths that count most.
    week = Counter()
    for day in DAYS:
        triples = Counter((app, *t) for (app, _u, _s), s in raw_truth.sessions(settings, day).items()
                          for t in zip(s["pages"], s["pages"][1:], s["pages"][2:], strict=False))
        week.update({k: n for k, n in triples.items()
                     if 1 + sum(m > n for j, m in triples.items() if j[0] == k[0]) <= 10})
    recent = raw_truth.last_minutes(settings, 15)
    return {
        "live": sum(raw_truth.events_per(settings, "device_type", recent).values()),
        "report": views,
        "traffic": views,
        "sections": count(f"{WEEK} AND event_type = 'button_click'"),
        "navigation": sum(sorted(week.values(), reverse=True)[:50]),
        "geography": count(f"{WEEK} AND event_type = 'page_view' AND country IS NOT NULL"),
        "performance": views,
        "sessions": sessions,
        "audience": sessions,
        "pipeline": topic_records(settings),
    }


# Per page: the CSV of a table of averages over several days, its key columns, its average column, and
# the HiveQL over raw_events that gives the average of every measurement in the week per key.
AVERAGES = {
    "traffic": ("time on page", ("app_id", "page"), "time_on_page_s", f"""
        SELECT app_id, page, avg(time_on_page_ms) / 1000 FROM raw_events
        WHERE {WEEK} AND {raw_truth.LEAVE} GROUP BY app_id, page"""),
    "sections": ("sections", ("app_id", "page", "section"), "time_in_view_s", f"""
        SELECT app_id, page, section, avg(time_on_page_ms) / 1000 FROM raw_events
        WHERE {WEEK} AND {raw_truth.SECTION_LEAVE} GROUP BY app_id, page, section"""),
}


def expected_averages(settings) -> dict[str, dict[tuple, float]]:
    return {name: {tuple(r[:-1]): round(r[-1], 6) for r in execute(settings, sql)}
            for name, (_csv, _keys, _column, sql) in AVERAGES.items()}


def averages(rows: list[dict], keys: tuple[str, ...], column: str) -> dict[tuple, float]:
    return {tuple(r[k] for k in keys): round(float(r[column]), 6) for r in rows if r[column]}


def metrics(page) -> dict[str, str]:
    """The metrics on the page, label -> value, as the browser shows them."""
    shown = {}
    for box in page.locator('[data-testid="stMetric"]').all():
        label = box.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        shown[label] = box.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return shown


def downloaded(page, name: str, folder: Path) -> list[dict]:
    """Click a table's CSV download in the browser and return the rows of the file it saves."""
    with page.expect_download() as download:
        page.get_by_role("button", name=f"Download {name} (CSV)").click()
    path = folder / download.value.suggested_filename
    download.value.save_as(path)
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_every_page_draws_its_charts_in_chromium(dashboard, built_week, tmp_path):
    from playwright.sync_api import sync_playwright

    expected = expected_numbers(built_week)
    chart_totals, shown_averages = {}, {}
    expected_totals = expected_chart_totals(built_week)
    shots = Path(os.environ.get("CLICKSTREAM_ARTIFACTS", REPO_ROOT / "artifacts")) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": 1400, "height": 1000}, color_scheme=scheme)
                for name in PAGES if scheme == "light" else DARK:
                    page.goto(f"{dashboard}/{'' if name == 'live' else name}")
                    page.wait_for_selector(CHART, timeout=60_000)
                    # Streamlit shows its running indicator until the script (and its queries) finish.
                    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
                    assert page.locator('[data-testid="stException"]').count() == 0, name
                    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, name
                    assert page.locator(CHART).count() > 0, name
                    if scheme == "light":
                        shown, wanted = metrics(page), expected.get(name, {})
                        assert {k: shown.get(k) for k in wanted} == wanted, name
                        table, column = CHART_TABLES[name]   # a chart's data, as its table saves it
                        chart_totals[name] = sum(int(r[column]) for r in downloaded(page, table, tmp_path))
                        if name in AVERAGES:
                            csv_name, keys, average, _sql = AVERAGES[name]
                            rows = downloaded(page, csv_name, tmp_path)
                            shown_averages[name] = averages(rows, keys, average)
                    page.screenshot(path=shots / f"{name}-{scheme}.png", full_page=True)
                page.close()
        finally:
            browser.close()
    assert {f"{n}-light.png" for n in PAGES} <= {f.name for f in shots.iterdir()}
    assert chart_totals == expected_totals
    assert shown_averages == expected_averages(built_week)
