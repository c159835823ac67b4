"""The hourly and daily tables and reports of the built day, each against its own recomputation over
raw_events.

The day is tests/support/batch_day.py's (the daily DAG ran it with dag.test(): spark-submit, HiveQL
reports, HiveServer2). The recomputations are in tests/support/raw_truth.py: HiveQL over the archived
events, sessions cut event by event with window functions where the job cuts them from 30-minute
slots; the funnels walked in Python. Counts, keys and labels are compared exactly; a double within
a microsecond or a billionth (the job takes a duration as the difference of two epoch seconds in
doubles, and sums in another order).
"""

from __future__ import annotations

import math
from collections import defaultdict
from statistics import fmean

import pytest

from clickstream.hive import execute
from tests.support import raw_truth
from tests.support.batch_day import DAY

# The section interactions by kind, restated (not imported from the job).
INTERACTIONS = ("section_view", "section_click", "section_scroll", "section_hover", "button_click")


SECTION_COLUMNS = """interactions, section_views, section_clicks, section_scrolls, section_hovers,
    button_clicks, unique_users, section_leaves, time_in_view_avg_ms"""


def section_truth(settings, keys: str) -> dict[tuple, tuple]:
    """Per keys (ending with app, page, section): the interactions by kind and their users, and the
    section-leave beacons (each the time a section was in view): how many, and their average."""
    interaction = f"event_type IN ({', '.join(f'{k!r}' for k in INTERACTIONS)})"
    leave = raw_truth.SECTION_LEAVE
    per_kind = ", ".join(f"sum(if(event_type = '{k}', 1, 0))" for k in INTERACTIONS)
    n = len(keys.split(","))
    return {tuple(r[:n]): tuple(r[n:]) for r in execute(settings, f"""
        SELECT {keys}, sum(if({interaction}, 1, 0)), {per_kind},
               count(DISTINCT if({interaction}, user_id, NULL)),
               sum(if({leave}, 1, 0)), avg(if({leave}, time_on_page_ms, NULL))
        FROM raw_events WHERE dt = '{DAY}' AND section IS NOT NULL AND ({interaction} OR {leave})
        GROUP BY {keys}""")}


def table(settings, name: str, keys: str, values: str) -> dict[tuple, tuple]:
    """The day's rows of a table: key columns -> value columns."""
    n = len(keys.split(","))
    rows = execute(settings, f"SELECT {keys}, {values} FROM {name} WHERE dt = '{DAY}'")
    return {tuple(r[:n]): tuple(r[n:]) for r in rows}


def same(got: dict[tuple, tuple], expected: dict[tuple, tuple]) -> bool:
    """The same keys, and per key the same values: doubles within 1e-6 or 1e-9 relative, the rest exact."""
    assert got.keys() == expected.keys(), (got.keys() ^ expected.keys())

    def equal(a, b) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
        return a == b

    wrong = {k: (got[k], expected[k]) for k in got
             if len(got[k]) != len(expected[k]) or not all(map(equal, got[k], expected[k]))}
    assert not wrong, f"{len(wrong)} of {len(got)} rows differ, e.g. {list(wrong.items())[:3]}"
    return True


@pytest.fixture(scope="module")
def truth(built_day):
    return raw_truth.sessions(built_day, DAY)


def grouped(sessions: dict, *by: str) -> dict[tuple, list[dict]]:
    groups = defaultdict(list)
    for (app, user, _start), s in sessions.items():
        groups[(app, *[s[k] for k in by])].append({**s, "user_id": user})
    return groups


def test_sessions_table_holds_every_session_with_its_first_events_attributes(built_day, truth):
    got = table(built_day, "sessions", "app_id, user_id, cast(start_ts AS STRING)",
                "cast(end_ts AS STRING), " + ", ".join(raw_truth.SESSION_FIELDS[1:]))
    expected = {k: tuple(s[f] for f in raw_truth.SESSION_FIELDS) for k, s in truth.items()}
    assert len(expected) > 100
    assert same(got, expected)


def test_devices_and_channels_are_the_sessions_grouped(built_day, truth):
    devices = {k: (len(g), len({s["user_id"] for s in g}), fmean(s["duration_s"] for s in g))
               for k, g in grouped(truth, "device_type", "browser").items()}
    assert same(table(built_day, "daily_devices", "app_id, device_type, browser",
                      "sessions, unique_users, avg_duration_s"), devices)
    channels = {k: (len(g), len({s["user_id"] for s in g}), fmean(s["bounce"] for s in g),
                    sum(s["converted"] for s in g), sum(s["revenue"] for s in g))
                for k, g in grouped(truth, "channel").items()}
    assert same(table(built_day, "daily_channels", "app_id, channel",
                      "sessions, unique_users, bounce_rate, conversions, revenue"), channels)
    assert len(channels) > 3


def test_summary_is_the_days_events_and_sessions(built_day, truth):
    counts = raw_truth.day_counts(built_day, DAY, "app_id")
    expected = {}
    for (app,), g in grouped(truth).items():
        events, views, users, bots, carts, purchases, errors = counts[(app,)]
        new = {s["user_id"] for s in g if s["is_new_user"]}
        returning = {s["user_id"] for s in g if not s["is_new_user"]}
        expected[(app,)] = (events, views, users, len(new), len(returning), len(g),
                            fmean(s["duration_s"] for s in g), fmean(s["page_views"] for s in g),
                            fmean(s["bounce"] for s in g), bots, carts, purchases,
                            sum(s["revenue"] for s in g), errors)
    assert same(table(built_day, "daily_summary", "app_id", """
        events, page_views, unique_users, new_users, returning_users, sessions, avg_session_s,
        pages_per_session, bounce_rate, bot_events, add_to_cart, purchases, revenue, errors"""), expected)
    assert all(row[5] > 0 and row[11] > 0 for row in expected.values())  # sessions and sales on each site
    reported = table(built_day, "report_sessions", "app_id", "sessions, new_users, returning_users")
    assert reported == {k: (v[5], v[3], v[4]) for k, v in expected.items()}


def test_hours_and_the_error_report_are_the_days_events_per_hour(built_day):
    counts = raw_truth.day_counts(built_day, DAY, "app_id", "hour(event_ts)")
    pct = {(a, h): (p50, p95) for a, h, p50, p95 in execute(built_day, f"""
        SELECT app_id, hour(event_ts), percentile(response_time_ms, 0.5), percentile(response_time_ms, 0.95)
        FROM raw_events WHERE dt = '{DAY}' AND event_type = 'page_view' GROUP BY app_id, hour(event_ts)""")}
    hours = {k: (c[0], c[1], c[2], c[6], *pct.get(k, (None, None))) for k, c in counts.items()}
    assert same(table(built_day, "daily_hours", "app_id, hr",
                      "events, page_views, unique_users, errors, response_p50_ms, response_p95_ms"), hours)
    assert len(hours) > 24  # the hours with events (a small day leaves some empty)
    errors = table(built_day, "report_errors", "app_id, hr", "page_views, errors")
    assert errors == {k: (c[1], c[6]) for k, c in counts.items()}
    assert sum(e for _, e in errors.values()) > 0


def test_geography_and_sections_are_the_days_events_per_place_and_section(built_day):
    places = raw_truth.day_counts(built_day, DAY, "app_id", "coalesce(country, '??')", "coalesce(city, '??')")
    assert table(built_day, "daily_geo", "app_id, country, city", "events, page_views, unique_users") == {
        k: c[:3] for k, c in places.items()}
    sections = section_truth(built_day, "app_id, page, section")
    assert same(table(built_day, "daily_sections", "app_id, page, section", SECTION_COLUMNS), sections)
    assert len(sections) > 10
    assert sum(v[7] for v in sections.values()) > 500  # the section-leave beacons that time the views
    # The engagement report: clicks are section and button clicks; the rank is by interactions (ties
    # share a rank); the sentence states the numbers.
    engagement = {}
    for (app, page, section), (interactions, _v, clicks, _s, _h, buttons, users, *_) in sections.items():
        rank = 1 + sum(n[0] > interactions for k, n in sections.items() if k[0] == app)
        engagement[(app, page, section)] = (
            interactions, clicks + buttons, users, rank,
            f"{section} on {page} was interacted with {interactions:,} times by {users:,} users")
    assert table(built_day, "report_section_engagement", "app_id, page, section",
                 "interactions, clicks, unique_users, rank_in_app, headline") == engagement


def test_pages_entrances_and_exits_are_the_sessions_first_and_last_page_views(built_day, truth):
    entrances, exits = defaultdict(int), defaultdict(int)
    for (app, _user, _start), s in truth.items():
        if s["entry_page"] is not None:
            entrances[(app, s["entry_page"])] += 1
            exits[(app, s["exit_page"])] += 1
    pages = table(built_day, "daily_pages", "app_id, page", "entrances, exits")
    assert {k: v for k, v in pages.items() if v != (0, 0)} == {
        k: (entrances.get(k, 0), exits.get(k, 0)) for k in entrances.keys() | exits.keys()}
    dwell = raw_truth.time_on_page_s(built_day, f"dt = '{DAY}'")
    leaves = dict(((a, p), n) for a, p, n in execute(built_day, (
        f"SELECT app_id, page, count(*) FROM raw_events WHERE dt = '{DAY}' AND {raw_truth.LEAVE} "
        "GROUP BY app_id, page")))
    assert same(table(built_day, "daily_pages", "app_id, page", "page_leaves, time_on_page_avg_ms / 1000"),
                {k: (leaves.get(k, 0), dwell.get(k)) for k in pages})


def test_page_traffic_report_is_each_pages_share_of_the_days_page_views(built_day):
    truth = raw_truth.page_traffic(built_day, DAY)
    expected = {(app, page): (users, views, pct, f"{page} accounts for {pct}% of {app} traffic")
                for (app, page), (users, views, pct) in truth.items()}
    assert table(built_day, "report_page_traffic", "app_id, page",
                 "unique_users, page_views, traffic_pct, headline") == expected
    assert len(expected) > 10


def test_paths_are_each_apps_most_frequent_three_page_sequences(built_day, truth):
    """Consecutive page views of the sessions starting on the day; the DAG's default top 10, ties kept."""
    occurrences, sessions = defaultdict(int), defaultdict(set)
    for (app, user, start), s in truth.items():
        for triple in zip(s["pages"], s["pages"][1:], s["pages"][2:], strict=False):
            occurrences[(app, *triple)] += 1
            sessions[(app, *triple)].add((user, start))
    expected = {}
    for key, n in occurrences.items():
        rank = 1 + sum(m > n for k, m in occurrences.items() if k[0] == key[0])
        if rank <= 10:
            expected[key] = (n, len(sessions[key]), rank)
    assert table(built_day, "daily_paths", "app_id, step1, step2, step3",
                 "occurrences, sessions, rank_in_app") == expected
    assert {k[0] for k in expected} == {"news", "saas", "shop"}


def test_headlines_state_the_days_numbers(built_day, truth):
    """Each headline's value against raw events: counts exactly, a rounded share or average within
    half its last digit (0.05); the busiest city by events, ties broken by country and city."""
    headlines = {(a, m): (v, h) for a, m, v, h in execute(
        built_day, f"SELECT app_id, metric, metric_value, headline FROM report_headlines WHERE dt = '{DAY}'")}
    counts = raw_truth.day_counts(built_day, DAY, "app_id")
    places = raw_truth.day_counts(built_day, DAY, "app_id", "coalesce(country, '??')", "coalesce(city, '??')")
    traffic = raw_truth.page_traffic(built_day, DAY)
    for (app,), (events, _views, _users, bots, carts, _purchases, _errors) in counts.items():
        assert headlines[(app, "bot_share_pct")][0] == pytest.approx(100 * bots / events, abs=0.05 + 1e-9)
        durations = [s["duration_s"] for (a, _u, _s), s in truth.items() if a == app]
        assert headlines[(app, "avg_session_min")][0] == pytest.approx(fmean(durations) / 60, abs=0.05 + 1e-9)
        if carts:
            assert headlines[(app, "add_to_cart")] == (carts, f"Add-to-cart button clicked {carts:,} times")
        else:
            assert (app, "add_to_cart") not in headlines
        (country, city), n = min(((k[1:], c[0]) for k, c in places.items() if k[0] == app),
                                 key=lambda item: (-item[1], item[0]))
        assert headlines[(app, "top_city_events")] == (n, f"Highest traffic city: {city} ({country})")
        top = max(views for (a, _p), (_u, views, _pct) in traffic.items() if a == app)
        total = sum(views for (a, _p), (_u, views, _pct) in traffic.items() if a == app)
        assert headlines[(app, "top_page_share")][0] == pytest.approx(100 * top / total, abs=0.05 + 1e-9)
        assert headlines[(app, "peak_slowdown_pct")] == peak_slowdown(built_day, app)
    assert {a for a, m in headlines if m == "add_to_cart"} == {"shop"}


def peak_slowdown(settings, app: str) -> tuple[float, str]:
    """The peak-slowdown headline from raw events: the app's three busiest hours by page views (ties
    kept), the exact p95 of the page views' response times in them and in the other hours."""
    views = dict(execute(settings, f"SELECT hour(event_ts), count(*) FROM raw_events WHERE dt = '{DAY}' AND "
                                   f"app_id = '{app}' AND event_type = 'page_view' GROUP BY hour(event_ts)"))
    peak = ", ".join(str(h) for h, n in views.items() if 1 + sum(m > n for m in views.values()) <= 3)
    ((at_peak, off_peak),) = execute(settings, f"""
        SELECT percentile(if(hour(event_ts) IN ({peak}), response_time_ms, NULL), 0.95),
               percentile(if(hour(event_ts) NOT IN ({peak}), response_time_ms, NULL), 0.95)
        FROM raw_events WHERE dt = '{DAY}' AND app_id = '{app}' AND event_type = 'page_view'""")
    ms = [math.floor(p + 0.5) for p in (at_peak, off_peak)]  # HiveQL's round: half up
    change = "increased" if at_peak > off_peak else "did not increase"
    return (math.floor(1000 * (at_peak / off_peak - 1) + 0.5) / 10,
            f"Response time (p95) {change} during peak hours: {ms[0]} ms vs {ms[1]} ms off-peak")


def test_hourly_tables_are_each_hours_events_per_page_and_section(built_day):
    kinds = INTERACTIONS
    interaction = f"event_type IN ({', '.join(f'{k!r}' for k in kinds)})"
    pages = {tuple(r[:3]): tuple(r[3:]) for r in execute(built_day, f"""
        SELECT hr, app_id, page, count(*), sum(if(event_type = 'page_view', 1, 0)), count(DISTINCT user_id),
               sum(if({interaction}, 1, 0)), sum(if(event_type = 'add_to_cart', 1, 0)),
               avg(if({raw_truth.LEAVE}, time_on_page_ms, NULL)),
               percentile(if(event_type = 'page_view', response_time_ms, NULL), 0.5),
               percentile(if(event_type = 'page_view', response_time_ms, NULL), 0.95),
               sum(if(event_type = 'page_view' AND http_status >= 500, 1, 0))
        FROM raw_events WHERE dt = '{DAY}' GROUP BY hr, app_id, page""")}
    assert same(table(built_day, "hourly_pages", "hr, app_id, page", """
        events, page_views, unique_users, section_interactions, add_to_cart, time_on_page_avg_ms,
        response_p50_ms, response_p95_ms, errors"""), pages)
    assert len({k[0] for k in pages}) > 12
    sections = section_truth(built_day, "hr, app_id, page, section")
    assert same(table(built_day, "hourly_sections", "hr, app_id, page, section", SECTION_COLUMNS), sections)
    assert len(sections) > 10


def test_funnels_walk_each_users_page_views_of_the_day_in_order(built_day):
    """A user enters on step 1 and advances one step at a time, each within an hour of entering (the DAG's
    default window); recomputed in Python over the day's page views, with the funnels' own page patterns."""
    import re

    from clickstream.funnels import FUNNELS

    views = defaultdict(list)
    for app, user, micros, event_id, page in execute(built_day, f"""
            SELECT app_id, user_id, unix_micros(event_ts), event_id, page FROM raw_events
            WHERE dt = '{DAY}' AND event_type = 'page_view'"""):
        views[(app, user)].append((micros, event_id, page))
    expected = {}
    for funnel in FUNNELS:
        reached_by_user = []
        for (app, _user), seen in views.items():
            if app != funnel.app_id:
                continue
            reached, entered = 0, None
            for micros, _event_id, page in sorted(seen):
                step = next((i for i, (_, pattern) in enumerate(funnel.steps, start=1)
                             if re.search(pattern, page)), None)
                if reached == 0 and step == 1:
                    reached, entered = 1, micros
                elif reached and step == reached + 1 and micros - entered <= 3600 * 1_000_000:
                    reached += 1
            reached_by_user.append(reached)
        users = [sum(r >= step for r in reached_by_user) for step in range(1, len(funnel.steps) + 1)]
        for step, (name, _) in enumerate(funnel.steps, start=1):
            n, previous = users[step - 1], users[step - 2] if step > 1 else None
            expected[(funnel.app_id, funnel.name, step)] = (
                name, n, None if previous is None else previous - n,
                n / users[0] if users[0] else None, n / previous if previous else None)
    assert same(table(built_day, "daily_funnels", "app_id, funnel, step", """
        step_name, users, drop_off, conversion_from_start, conversion_from_previous"""), expected)
    assert all(expected[(f.app_id, f.name, 2)][1] > 0 for f in FUNNELS)
