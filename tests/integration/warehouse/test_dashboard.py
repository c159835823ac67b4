"""Every dashboard page, rendered by Streamlit's AppTest against the real tables of a built day.

The day (tests/warehouse/batch_day.py) was archived by the streaming job and built by the hourly
job and the daily DAG; the pages read it through the embedded HiveServer2. The numbers a page
shows are compared with recomputations from raw_events by Hive itself. The Airflow REST API is
not running in this module: the pipeline page must say so in a warning, not fail.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from clickstream.hive import execute
from tests.support import raw_truth
from tests.support.apptest import APP, render, shown
from tests.support.batch_day import DAY

PAGES = ("live", "report", "traffic", "sections", "navigation", "geography", "performance", "sessions",
         "audience", "pipeline")
CHARTS = ("vega_lite_chart", "plotly_chart", "deck_gl_json_chart")


def metric(app: AppTest, label: str) -> str:
    (value,) = [m.value for m in app.metric if m.label == label]
    return value


def charts(app: AppTest) -> int:
    return sum(len(app.get(kind)) for kind in CHARTS)


def raw(settings, sql: str):
    return execute(settings, sql)[0][0]


@pytest.fixture(scope="module")
def day(built_day):
    return built_day


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_charts_without_errors(day, page):
    app = render(page)
    assert [e.value for e in app.error] == []
    assert charts(app) > 0, f"{page} drew no chart"
    assert len(app.dataframe) > 0 and all(len(d.value) > 0 for d in app.dataframe)
    # Every table has its CSV download.
    assert len(app.get("download_button")) == len(app.dataframe)


def test_traffic_numbers_equal_raw_events(day):
    app = render("traffic")
    where = f"dt = '{DAY}'"
    views = raw(day, f"SELECT count(*) FROM raw_events WHERE {where} AND event_type = 'page_view'")
    events = raw(day, f"SELECT count(*) FROM raw_events WHERE {where}")
    assert metric(app, "Page views") == f"{views:,}" and metric(app, "Events") == f"{events:,}"
    page, app_id, share = execute(day, (
        "SELECT page, app_id, n / sum(n) OVER (PARTITION BY app_id) AS share FROM (SELECT app_id, page, "
        f"count(*) AS n FROM raw_events WHERE {where} AND event_type = 'page_view' GROUP BY app_id, page) c "
        "ORDER BY n DESC, app_id, page LIMIT 1"))[0]
    assert f"**{page}** accounts for **{share:.0%}** of {app_id} traffic." in [m.value for m in app.markdown]


def test_page_filter_narrows_traffic_to_one_page(day):
    app = render("traffic")
    app.sidebar.selectbox(key="filter_page").select("/products").run()
    assert not app.exception
    (pages,) = [d.value for d in app.dataframe if "entrances" in d.value.columns]
    assert set(pages["page"]) == {"/products"}
    views = raw(day, f"SELECT count(*) FROM raw_events WHERE dt = '{DAY}' AND page = '/products' "
                     "AND event_type = 'page_view'")
    assert pages["page_views"].sum() == views


def test_sections_heatmap_counts_equal_raw_events(day):
    app = render("sections")
    (sections,) = [d.value for d in app.dataframe]
    clicks = dict(execute(day, f"SELECT concat(app_id, page, section), count(*) FROM raw_events "
                               f"WHERE dt = '{DAY}' AND event_type = 'button_click' "
                               "GROUP BY app_id, page, section"))
    columns = ["app_id", "page", "section", "button_clicks"]
    shown = {a + p + s: n for a, p, s, n in sections[columns].values if n}
    assert shown == clicks
    # Time in view: the section-leave beacons' average per section, and over all of them.
    in_view = {k: round(v, 6) for k, v in execute(day, (
        f"SELECT concat(app_id, page, section), avg(time_on_page_ms) / 1000 FROM raw_events "
        f"WHERE dt = '{DAY}' AND {raw_truth.SECTION_LEAVE} GROUP BY app_id, page, section"))}
    columns = ["app_id", "page", "section", "time_in_view_s"]
    assert {a + p + s: round(t, 6) for a, p, s, t in sections[columns].dropna().values} == in_view
    overall = raw(day, f"SELECT avg(time_on_page_ms) / 1000 FROM raw_events WHERE dt = '{DAY}' "
                       f"AND {raw_truth.SECTION_LEAVE}")
    assert any(f"stays in view **{overall:.1f} s** on average" in m.value for m in app.markdown)


def test_sessions_page_matches_the_sessions_table(day):
    app = render("sessions")
    sessions = raw(day, f"SELECT count(*) FROM sessions WHERE dt = '{DAY}'")
    bounces = raw(day, f"SELECT avg(if(bounce, 1.0, 0.0)) FROM sessions WHERE dt = '{DAY}'")
    assert metric(app, "Sessions") == f"{sessions:,}"
    assert metric(app, "Bounce rate") == f"{bounces:.1%}"
    durations = next(d.value for d in app.dataframe if "duration" in d.value.columns)
    assert durations["sessions"].sum() == sessions


def test_live_page_shows_the_newest_minute(day):
    app = render("live")
    newest = raw(day, "SELECT cast(max(event_ts) AS STRING) FROM raw_events")
    minute = datetime.fromisoformat(newest).replace(second=0, microsecond=0)
    events = raw(day, f"SELECT count(*) FROM raw_events WHERE event_ts >= '{minute}' "
                      f"AND event_ts < '{minute + timedelta(minutes=1)}'")
    assert metric(app, "Events this minute") == f"{events:,}"
    assert any("is the last state the stream saw" in w.value for w in app.warning)  # the day is past
    active = raw(day, f"SELECT count(DISTINCT user_id) FROM raw_events WHERE event_ts >= "
                      f"'{minute - timedelta(minutes=4)}' AND event_ts < '{minute + timedelta(minutes=1)}'")
    assert metric(app, "Active users (5 min)") == f"{active:,}"


def test_live_top_pages_are_the_page_views_of_the_last_15_minutes(day):
    app = render("live")
    newest = raw(day, "SELECT cast(max(event_ts) AS STRING) FROM raw_events")
    minute = datetime.fromisoformat(newest).replace(second=0, microsecond=0)
    first, end = minute - timedelta(minutes=14), minute + timedelta(minutes=1)
    counts = {(a, p): n for a, p, n in execute(day, (
        "SELECT app_id, page, count(*) FROM raw_events WHERE event_type = 'page_view' "
        f"AND event_ts >= '{first}' AND event_ts < '{end}' GROUP BY app_id, page"))}
    (top,) = [d.value for d in app.dataframe if "peak_users_per_min" in d.value.columns]
    shown = {(a, p): n for a, p, n in top[["app_id", "page", "page_views"]].values}
    assert len(shown) == min(10, len(counts)) > 0
    assert shown == {k: counts[k] for k in shown}
    assert min(shown.values()) >= max([n for k, n in counts.items() if k not in shown], default=0)


def test_daily_report_states_the_days_numbers(day):
    app = render("report")
    assert metric(app, "Page views") == f"{raw_truth.page_views(day, DAY):,}"
    assert metric(app, "Sessions") == f"{sum(raw_truth.session_starts(day, DAY).values()):,}"
    assert metric(app, "Days reported") == "1"
    text = "\n".join(m.value for m in app.markdown)
    for app_id, sentence in raw_truth.top_page_sentence(day, DAY).items():
        assert f"**{app_id}**" in text and f"- {sentence}" in text, (app_id, sentence)
    # Each site's list says the average session length once, and each of its three top pages' share once.
    assert text.count("- Average session duration") == 3 and text.count(" accounts for ") == 9
    per_app = raw_truth.events_per(day, "dt", f"dt = '{DAY}' AND event_type = 'page_view'")
    totals = shown(app, "report totals")
    assert {(a, str(d)): n for d, a, n in totals[["day", "app_id", "page_views"]].values} == per_app


def test_audience_counts_sessions_by_their_first_events_device(day):
    app = render("audience")
    by_device = raw_truth.session_starts(day, DAY, "app_id", "device_type")
    assert metric(app, "Sessions") == f"{sum(by_device.values()):,}"
    devices = shown(app, "devices")
    assert {(a, d): n for a, d, n in devices[["app_id", "device_type", "sessions"]].values} == by_device
    systems = shown(app, "operating systems")
    assert ({(a, o): n for a, o, n in systems[["app_id", "os", "sessions"]].values}
            == raw_truth.session_starts(day, DAY, "app_id", "os"))


def test_time_on_page_is_the_page_leave_beacons_average(day):
    app = render("traffic")
    dwell = shown(app, "time on page")
    truth = raw_truth.time_on_page_s(day, f"dt = '{DAY}'")
    assert {(a, p): round(s, 6) for a, p, s in dwell[["app_id", "page", "time_on_page_s"]].values} == {
        k: round(v, 6) for k, v in truth.items()}
    (app_id, page), seconds = min(truth.items(), key=lambda item: (-item[1], item[0]))  # the page's order
    sentence = f"Visitors stay longest on **{page}** ({app_id}): **{seconds:.1f} s** on average."
    assert sentence in [m.value for m in app.markdown]


def test_live_time_on_page_transitions_devices_browsers_and_paths_equal_raw_events(day):
    app = render("live")
    recent = raw_truth.last_minutes(day, 15)
    dwell = shown(app, "time on page now")
    truth = raw_truth.time_on_page_s(day, recent)
    assert {(a, p): round(s, 6) for a, p, s in dwell[["app_id", "page", "time_on_page_s"]].values} == {
        k: round(v, 6) for k, v in truth.items()}

    moves = raw_truth.transitions(day, recent)
    top = shown(app, "page transitions now")
    listed = {(a, t): n for a, t, n in top[["app_id", "transition", "page_views"]].values}
    assert len(listed) == min(10, len(moves)) > 0
    assert listed == {k: moves[k] for k in listed}
    assert min(listed.values()) >= max([n for k, n in moves.items() if k not in listed], default=0)

    devices = shown(app, "devices now")
    events = raw_truth.events_per(day, "device_type", recent)
    assert {(a, d): n for a, d, n in devices[["app_id", "device_type", "events"]].values} == events

    for column, download in (("browser", "browsers now"), ("os", "operating systems now")):
        events = raw_truth.events_per(day, column, recent)
        listed = {(a, k): n for a, k, n in shown(app, download)[["app_id", column, "events"]].values}
        assert len(listed) == min(10, len(events)) > 1
        assert listed == {k: events[k] for k in listed}
        assert min(listed.values()) >= max([n for k, n in events.items() if k not in listed], default=0)

    triples = raw_truth.paths(day, recent)
    paths = shown(app, "paths now")
    listed = {tuple(r[:4]): r[4] for r in paths[["app_id", "prev_page", "page", "next_page", "occurrences"]]
              .values if r[3] != "(exit)"}
    assert listed and listed == {k: triples.get(k) for k in listed}


def test_pipeline_page_explains_what_it_cannot_reach(day):
    app = render("pipeline")
    assert any("Cannot reach the Airflow API" in w.value for w in app.warning)
    assert any("No simulator counts" in i.value for i in app.info)  # this day was produced directly
    (queries,) = [d.value for d in app.dataframe if "offsets_behind" in d.value.columns]
    assert set(queries["query"]) == {"ingest"}


def test_pipeline_page_shows_the_topics_partitions_and_ingests_lag_on_each(day):
    app = render("pipeline")
    partitions = shown(app, "topic partitions")
    # Every record the day's producer wrote was archived, valid or dead-lettered: the topic's records.
    archived = raw(day, "SELECT count(*) FROM raw_events") + raw(day, "SELECT count(*) FROM bad_events")
    assert (partitions["end_offset"] - partitions["first_offset"]).sum() == archived
    assert len(partitions) == day.events_partitions and partitions["partition"].tolist() == list(
        range(day.events_partitions))
    # The streaming job ran to the end of the topic: ingest committed every partition's end.
    assert partitions["ingested_to"].tolist() == partitions["end_offset"].tolist()
    assert partitions["lag"].tolist() == [0] * len(partitions)
    assert metric(app, "Records ingest has yet to read") == "0"
    assert metric(app, "Records on the topic (end offsets)") == f"{archived:,}"


def test_an_unreachable_hiveserver2_is_an_error_message_not_a_traceback(day, monkeypatch):
    from clickstream.settings import get_settings

    monkeypatch.setenv("CLICKSTREAM_HIVE_PORT", "1")
    get_settings.cache_clear()
    st.cache_data.clear()  # the earlier tests' results would answer from the cache
    try:
        app = AppTest.from_file(APP, default_timeout=60)
        app.run()
        assert not app.exception
        assert any("Cannot reach HiveServer2 at 127.0.0.1:1" in e.value for e in app.error)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_on_a_fresh_stack_every_page_says_what_creates_its_tables(day, monkeypatch):
    """No table yet (a database the stack has just created): one line per missing table, no traceback."""
    from clickstream.settings import get_settings

    execute(get_settings(), "CREATE DATABASE IF NOT EXISTS dashboard_fresh", database=None)
    monkeypatch.setenv("CLICKSTREAM_HIVE_DATABASE", "dashboard_fresh")
    get_settings.cache_clear()
    st.cache_data.clear()
    try:
        for page in PAGES:
            app = render(page)
            said = [m.value for m in app.info] + [m.value for m in app.error]
            assert said and not app.error, (page, said)
            assert all("does not exist yet" in m for m in said if "Table" in m), (page, said)
        live = render("live")
        said = [m.value for m in live.info]
        assert any(m.startswith("Table `live_") and "does not exist yet: the streaming application "
                   "creates it when it first starts" in m for m in said), said
        traffic = render("traffic")
        assert any("does not exist yet: the batch DAGs create it in their first run" in m.value
                   for m in traffic.info), [m.value for m in traffic.info]
        pipeline = render("pipeline")  # each section says its own; the page goes on to the DAG runs
        assert any("Table `sim_ledger` does not exist yet" in m.value for m in pipeline.info)
        assert any("Table `stream_progress` does not exist yet" in m.value for m in pipeline.info)
        assert any("Cannot reach the Airflow API" in w.value for w in pipeline.warning)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        st.cache_data.clear()


def test_the_first_daily_run_is_announced_from_the_batch_epoch():
    from dashboard.ui import daily_hint

    hint = daily_hint("2026-12-02T18:00:00+00:00")
    assert "Its first run covers 2026-12-02 from 18:00 UTC" in hint
    assert "ends after about 01:10 UTC on 2026-12-03" in hint
    assert "backfill" in daily_hint("")
