"""Batch transforms on small inline events, compared with exact expected rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pyspark.testing import assertDataFrameEqual

from clickstream.batch.daily import (
    place_slots,
    transform_geo,
    transform_hours,
    transform_paths,
    transform_summary,
)
from clickstream.batch.funnels import transform_funnels
from clickstream.batch.hourly import transform_hourly_pages, transform_hourly_sections
from clickstream.batch.sessions import (
    assign_sessions,
    channel,
    combine_slots,
    session_slots,
    session_visits,
    transform_sessions,
)
from clickstream.funnels import FUNNELS, Funnel
from tests.support.streaming_frames import ev, frame


def at(when: str) -> datetime:
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


def evt(when: str, user: str, page: str, event_type: str = "page_view", **fields) -> dict:
    """Return one archived event at a full ISO time (any day)."""
    ts = at(when)
    return ev("00:00:00", user, page, event_type, event_ts=ts, received_ts=ts,
              event_time=ts.strftime("%Y-%m-%dT%H:%M:%S.000Z"), dt=ts.strftime("%Y-%m-%d"), hr=ts.hour,
              **fields)


def leave(when: str, user: str, page: str, ms: int) -> dict:
    return evt(when, user, page, "engagement_ping", element="page_leave", time_on_page_ms=ms)


def test_hourly_pages_exact(spark):
    rows = [
        evt("2026-11-20T10:00:00", "u1", "/", response_time_ms=100, http_status=200),
        evt("2026-11-20T10:00:05", "u1", "/", "section_click", section="hero"),
        leave("2026-11-20T10:00:20", "u1", "/", 20_000),
        evt("2026-11-20T10:01:00", "u2", "/", response_time_ms=300, http_status=503),
        leave("2026-11-20T10:01:30", "u2", "/", 30_000),
        evt("2026-11-20T10:02:00", "u2", "/products", response_time_ms=200, http_status=200),
        evt("2026-11-20T10:02:10", "u2", "/products", "add_to_cart", section="product_list"),
    ]
    expected = spark.createDataFrame(
        [("shop", "/", 5, 2, 2, 1, 0, 25_000.0, 200.0, 290.0, 1, 0.5),
         ("shop", "/products", 2, 1, 1, 0, 1, None, 200.0, 200.0, 0, 0.0)],
        "app_id string, page string, events long, page_views long, unique_users long, "
        "section_interactions long, add_to_cart long, time_on_page_avg_ms double, response_p50_ms double, "
        "response_p95_ms double, "
        "errors long, error_rate double")
    assertDataFrameEqual(transform_hourly_pages(frame(spark, rows)), expected, checkRowOrder=False)


def test_hourly_sections_count_each_kind(spark):
    rows = [
        evt("2026-11-20T10:00:00", "u1", "/", "section_view", section="hero"),
        evt("2026-11-20T10:00:01", "u1", "/", "section_click", section="hero"),
        evt("2026-11-20T10:00:02", "u2", "/", "section_scroll", section="hero"),
        evt("2026-11-20T10:00:03", "u2", "/", "button_click", section="hero", element="cta"),
        evt("2026-11-20T10:00:04", "u2", "/", "section_hover", section="footer"),
        evt("2026-11-20T10:00:05", "u2", "/"),
        # Section-leave beacons: time in view, not interactions. u3 only saw the footer scroll past.
        evt("2026-11-20T10:00:06", "u1", "/", "engagement_ping", section="hero", element="section_leave",
            time_on_page_ms=6_000),
        evt("2026-11-20T10:00:07", "u2", "/", "engagement_ping", section="hero", element="section_leave",
            time_on_page_ms=5_000),
        evt("2026-11-20T10:00:09", "u3", "/", "engagement_ping", section="footer", element="section_leave",
            time_on_page_ms=500),
        # A page-leave beacon and a periodic ping name no section's time in view.
        evt("2026-11-20T10:00:10", "u2", "/", "engagement_ping", section="hero", element="page_leave",
            time_on_page_ms=10_000),
        evt("2026-11-20T10:00:11", "u2", "/", "engagement_ping", section="hero", time_on_page_ms=9_000),
    ]
    expected = spark.createDataFrame(
        [("shop", "/", "hero", 4, 1, 1, 1, 0, 1, 2, 2, 5_500.0),
         ("shop", "/", "footer", 1, 0, 0, 0, 1, 0, 1, 1, 500.0)],
        "app_id string, page string, section string, interactions long, section_views long, "
        "section_clicks long, section_scrolls long, section_hovers long, button_clicks long, "
        "unique_users long, section_leaves long, time_in_view_avg_ms double")
    assertDataFrameEqual(transform_hourly_sections(frame(spark, rows)), expected, checkRowOrder=False)


@pytest.fixture(scope="module")
def midnight_events(spark):
    return frame(spark, [
        # a: one session across midnight (gaps of 5 and 15 minutes), then a new one after 40 minutes
        evt("2026-11-20T23:50:00", "a", "/", referrer="https://www.google.com/"),
        evt("2026-11-20T23:55:00", "a", "/products"),
        evt("2026-11-21T00:10:00", "a", "/cart"),
        evt("2026-11-21T00:50:00", "a", "/", visit_number=2),
        # b: a session that began the day before belongs to that day
        evt("2026-11-19T23:45:00", "b", "/", utm_medium="email"),
        evt("2026-11-20T00:05:00", "b", "/help"),
        # c: a bounce that buys (a purchase is not a page view)
        evt("2026-11-20T12:00:00", "c", "/cart", visit_number=3, device_type="mobile"),
        evt("2026-11-20T12:00:30", "c", "/cart", "purchase", value=42.5),
    ])


def _session_rows(sessions):
    return sorted(
        (r.user_id, r.start_ts.isoformat(), r.end_ts.isoformat(), r.duration_s, r.events, r.page_views,
         r.bounce, r.entry_page, r.exit_page, r.channel, r.device_type, r.is_new_user, r.converted, r.revenue,
         r.crosses_midnight)
        for r in sessions.collect())  # fmt: skip


def test_sessions_crossing_midnight_belong_to_their_first_day(spark, midnight_events):
    day20 = _session_rows(transform_sessions(midnight_events, date(2026, 11, 20)))
    assert day20 == [
        ("a", "2026-11-20T23:50:00", "2026-11-21T00:10:00", 1200.0, 3, 3, False, "/", "/cart", "search",
         "desktop", True, False, 0.0, True),
        ("c", "2026-11-20T12:00:00", "2026-11-20T12:00:30", 30.0, 2, 1, True, "/cart", "/cart", "direct",
         "mobile", False, True, 42.5, False),
    ]
    day21 = _session_rows(transform_sessions(midnight_events, date(2026, 11, 21)))
    assert day21 == [("a", "2026-11-21T00:50:00", "2026-11-21T00:50:00", 0.0, 1, 1, True, "/", "/", "direct",
                      "desktop", False, False, 0.0, False)]
    day19 = _session_rows(transform_sessions(midnight_events, date(2026, 11, 19)))
    assert [(r[0], r[1], r[3], r[8], r[9], r[14]) for r in day19] == [
        ("b", "2026-11-19T23:45:00", 1200.0, "/help", "email", True)]


def test_session_first_event_ties_and_sessions_without_page_views(spark):
    """The first event breaks ties at the start instant by event id; a session may have no page view."""
    events = frame(spark, [
        # t: a click and a page view at the same instant; the click (lower event id) comes first
        evt("2026-11-20T10:00:00", "t", "/a", "section_click", section="hero", device_type="tablet",
            referrer="https://www.google.com/"),
        evt("2026-11-20T10:00:00", "t", "/b", device_type="mobile", visit_number=2),
        evt("2026-11-20T10:05:00", "t", "/c"),
        # n: engagement only, no page view: no entry or exit page
        evt("2026-11-20T11:00:00", "n", "/x", "section_view", section="hero", utm_medium="email"),
        evt("2026-11-20T11:01:00", "n", "/x", "section_click", section="hero"),
    ])  # fmt: skip
    assert _session_rows(transform_sessions(events, date(2026, 11, 20))) == [
        ("n", "2026-11-20T11:00:00", "2026-11-20T11:01:00", 60.0, 2, 0, True, None, None, "email",
         "desktop", True, False, 0.0, False),
        ("t", "2026-11-20T10:00:00", "2026-11-20T10:05:00", 300.0, 3, 2, False, "/b", "/c", "search",
         "tablet", True, False, 0.0, False),
    ]


def test_session_ids_are_stable_and_distinct(midnight_events):
    def ids():
        return {(r.user_id, r.start_ts.isoformat(), r.session_id)
                for day in (19, 20, 21)
                for r in transform_sessions(midnight_events, date(2026, 11, day)).collect()}

    first = ids()
    assert len({i for _, _, i in first}) == 4 == len(first)
    assert ids() == first


def test_session_starts_follow_the_gaps_between_a_users_events(spark):
    """30 minutes exactly do not end a session; events at the same instant share one; users are apart."""
    events = frame(spark, [
        evt("2026-11-20T10:00:00", "a", "/"),
        evt("2026-11-20T10:00:00", "a", "/b", "section_click", section="s"),
        evt("2026-11-20T10:30:00", "a", "/c"),       # exactly 30 minutes later: same session
        evt("2026-11-20T11:00:01", "a", "/d"),       # 30 min 1 s later: a new session
        evt("2026-11-20T09:00:00", "b", "/"),        # another user, earlier: own session
        evt("2026-11-20T10:15:00", "b", "/x", app_id="news"),  # same user id on another site: apart
    ])  # fmt: skip
    got = sorted((r.app_id, r.user_id, r.page, r.session_start.isoformat())
                 for r in assign_sessions(events).collect())
    assert got == [
        ("news", "b", "/x", "2026-11-20T10:15:00"),
        ("shop", "a", "/", "2026-11-20T10:00:00"), ("shop", "a", "/b", "2026-11-20T10:00:00"),
        ("shop", "a", "/c", "2026-11-20T10:00:00"), ("shop", "a", "/d", "2026-11-20T11:00:01"),
        ("shop", "b", "/", "2026-11-20T09:00:00"),
    ]


def test_geo_counts_users_sessions_and_places(spark):
    events = frame(spark, [
        # u1: two sessions in Berlin, the second one from another spot
        evt("2026-11-20T10:00:00", "u1", "/", latitude=52.52, longitude=13.405),
        evt("2026-11-20T10:01:00", "u1", "/", "section_click", section="s", latitude=52.52, longitude=13.405),
        evt("2026-11-20T12:00:00", "u1", "/p", latitude=52.50, longitude=13.40),
        # u2 in Paris; one event without coordinates does not count in the mean
        evt("2026-11-20T10:00:00", "u2", "/", country="FR", city="Paris", latitude=48.8566, longitude=2.3522),
        evt("2026-11-20T10:05:00", "u2", "/", "section_view", section="s", country="FR", city="Paris"),
        # u3: no location at all
        evt("2026-11-20T10:00:00", "u3", "/", country=None, city=None),
    ])  # fmt: skip
    expected = spark.createDataFrame(
        [("shop", "DE", "Berlin", 3, 2, 1, 2, 52.5133, 13.4033),
         ("shop", "FR", "Paris", 2, 1, 1, 1, 48.8566, 2.3522),
         ("shop", "??", "??", 1, 1, 1, 1, None, None)],
        "app_id string, country string, city string, events long, page_views long, unique_users long, "
        "sessions long, latitude double, longitude double")
    assertDataFrameEqual(transform_geo(events), expected, checkRowOrder=False)


def test_slots_per_place_add_up_to_the_plain_slots(spark):
    events = frame(spark, [
        evt("2026-11-20T10:00:00", "u1", "/", http_status=503),
        evt("2026-11-20T10:05:00", "u1", "/cart", "add_to_cart", country="FR", city="Paris"),  # moved
        evt("2026-11-20T10:10:00", "u1", "/buy", "purchase", value=12.5, country="FR", city="Paris",
            is_bot=True, latitude=48.8566, longitude=2.3522),
        evt("2026-11-20T10:31:00", "u1", "/"),  # the next slot
        evt("2026-11-20T10:02:00", "u2", "/", country=None, city=None),
    ])  # fmt: skip
    places = place_slots(events)
    paris = places.where("city = 'Paris'").select(
        "user_id", "first", "last", "events", "page_views", "bot", "bot_events", "add_to_cart", "purchases",
        "revenue", "errors", "latitude_sum", "latitude_n").collect()
    assert [tuple(r) for r in paris] == [
        ("u1", at("2026-11-20T10:05:00").replace(tzinfo=None), at("2026-11-20T10:10:00").replace(tzinfo=None),
         2, 0, 1, 1, 1, 1, 12.5, 0, 48.8566, 1)]
    assertDataFrameEqual(combine_slots(places), session_slots(events), checkRowOrder=False)
    u1 = session_slots(events).where("user_id = 'u1'").orderBy("first").select(
        "events", "page_views", "bot", "add_to_cart", "purchases", "revenue", "errors").collect()
    assert [tuple(r) for r in u1] == [(3, 1, 1, 1, 1, 12.5, 1), (1, 1, 0, 0, 0, None, 0)]


def test_funnel_with_a_conversion_window(spark):
    funnel = Funnel("shop", "main", (("home", "^/$"), ("list", "^/products$"), ("cart", "^/cart$")))
    rows = [
        # u1 converts within 10 minutes
        evt("2026-11-20T10:00:00", "u1", "/"), evt("2026-11-20T10:03:00", "u1", "/products"),
        evt("2026-11-20T10:08:00", "u1", "/cart"),
        # u2 reaches the cart 20 minutes after entering: outside the window
        evt("2026-11-20T10:00:00", "u2", "/"), evt("2026-11-20T10:05:00", "u2", "/products"),
        evt("2026-11-20T10:20:00", "u2", "/cart"),
        # u3: steps out of order count only from the entry on
        evt("2026-11-20T10:00:00", "u3", "/products"), evt("2026-11-20T10:01:00", "u3", "/"),
        evt("2026-11-20T10:02:00", "u3", "/cart"),
        # u4 never enters; an interaction on the list page is not a view
        evt("2026-11-20T10:00:00", "u4", "/cart"),
        evt("2026-11-20T10:00:00", "u1", "/products", "section_click", section="filters"),
    ]
    got = transform_funnels(frame(spark, rows), [funnel], window_s=600)
    expected = spark.createDataFrame(
        [("shop", "main", 1, "home", 3, None, 1.0, None),
         ("shop", "main", 2, "list", 2, 1, 2 / 3, 2 / 3),
         ("shop", "main", 3, "cart", 1, 1, 1 / 3, 0.5)],
        "app_id string, funnel string, step int, step_name string, users long, drop_off long, "
        "conversion_from_start double, conversion_from_previous double")
    assertDataFrameEqual(got, expected, checkRowOrder=False)


def test_each_funnel_step_matches_exactly_the_simulated_pages_of_its_type():
    """The platform's funnel patterns against the simulated sites' concrete page paths."""
    import re

    from simulators.sites import SITES

    for funnel in FUNNELS:
        site = SITES[funnel.app_id]
        assert funnel.step_names == site.funnel
        for step, pattern in funnel.steps:
            for page_type, page in site.pages.items():
                for path in page.paths():
                    assert bool(re.match(pattern, path)) == (page_type == step), (funnel.app_id, step, path)


def test_top_paths_keep_ties_at_the_cut(spark):
    def session(user, start_minute, pages):
        return [evt(f"2026-11-20T10:{start_minute + i:02d}:00", user, p) for i, p in enumerate(pages)]

    events = assign_sessions(frame(spark, [
        *session("u1", 0, ["/a", "/b", "/c", "/d"]),
        *session("u2", 0, ["/a", "/b", "/c"]),
        *session("u3", 0, ["/x", "/y", "/z"]),
        *session("u4", 0, ["/a", "/b"]),
    ]))  # fmt: skip
    expected = spark.createDataFrame(
        [("shop", "/a", "/b", "/c", 2, 2, 1), ("shop", "/b", "/c", "/d", 1, 1, 2),
         ("shop", "/x", "/y", "/z", 1, 1, 2)],
        "app_id string, step1 string, step2 string, step3 string, occurrences long, sessions long, "
        "rank_in_app int")
    assertDataFrameEqual(transform_paths(session_visits(events, date(2026, 11, 20)), top_n=2), expected,
                         checkRowOrder=False)


def test_channels_from_utm_then_referrer(spark):
    rows = [
        evt("2026-11-20T10:00:00", "u1", "/", referrer="https://www.google.com/", utm_medium="cpc"),
        evt("2026-11-20T10:00:00", "u2", "/", referrer="https://www.bing.com/"),
        evt("2026-11-20T10:00:00", "u3", "/", referrer="https://t.co/"),
        evt("2026-11-20T10:00:00", "u4", "/", utm_medium="email"),
        evt("2026-11-20T10:00:00", "u5", "/", referrer="https://news.ycombinator.com/"),
        evt("2026-11-20T10:00:00", "u6", "/"),
    ]
    got = dict(frame(spark, rows).select("user_id", channel().alias("c")).collect())
    assert got == {"u1": "paid", "u2": "search", "u3": "social", "u4": "email", "u5": "referral",
                   "u6": "direct"}


def test_summary_and_peak_hours(spark):
    rows = [
        # 10:00 is the peak (3 views), slower; 11:00 quiet
        evt("2026-11-20T10:00:00", "u1", "/", response_time_ms=400, http_status=200),
        evt("2026-11-20T10:01:00", "u1", "/p", response_time_ms=600, http_status=500),
        evt("2026-11-20T10:02:00", "bot", "/", response_time_ms=500, http_status=200, is_bot=True,
            visit_number=4),
        evt("2026-11-20T11:00:00", "u2", "/", response_time_ms=100, http_status=200),
        evt("2026-11-20T11:00:05", "u2", "/", "add_to_cart", section="s"),
    ]
    events = frame(spark, rows)
    hours = transform_hours(events, peak_hours=1)
    assert sorted((r.hr, r.page_views, r.response_p50_ms, r.errors, r.error_rate, r.traffic_rank, r.is_peak)
                  for r in hours.collect()) == [
        (10, 3, 500.0, 1, 1 / 3, 1, True), (11, 1, 100.0, 0, 0.0, 2, False)]
    sessions = transform_sessions(events, date(2026, 11, 20))
    (s,) = transform_summary(events, sessions, hours).collect()
    assert (s.events, s.page_views, s.unique_users) == (5, 4, 3)
    assert (s.new_users, s.returning_users, s.sessions) == (2, 1, 3)
    assert (s.bot_events, s.bot_share, s.add_to_cart, s.errors, s.error_rate) == (1, 0.2, 1, 1, 0.25)
    assert (s.peak_response_p95_ms, s.offpeak_response_p95_ms) == (pytest.approx(590.0), 100.0)
    assert s.peak_slowdown == pytest.approx(5.9)


def test_run_hours_writes_each_hour_as_the_hour_alone_would_and_only_the_span(spark, settings, tmp_path):
    """A span is computed in one pass; each hour's partition must equal that hour computed on its own,
    in one file; a quiet hour is emptied; an hour outside the span is left as it was."""
    from pathlib import Path

    from clickstream.batch.jobs import run_hours

    s = settings.replace(warehouse_uri=tmp_path.as_uri())
    rows = [
        evt("2026-11-20T10:00:00", "u1", "/", response_time_ms=100, http_status=200),
        evt("2026-11-20T10:00:05", "u1", "/", "section_click", section="hero"),
        leave("2026-11-20T10:00:20", "u1", "/", 20_000),
        evt("2026-11-20T11:30:00", "u2", "/", response_time_ms=300, http_status=503),
        evt("2026-11-20T11:31:00", "u2", "/products", response_time_ms=200, http_status=200),
        evt("2026-11-20T11:31:05", "u2", "/products", "section_view", section="product_list"),
        evt("2026-11-20T11:31:10", "u2", "/products", "add_to_cart", section="product_list"),
        evt("2026-11-20T11:59:00", "u3", "/products", response_time_ms=250, http_status=200),
    ]
    frame(spark, rows).write.partitionBy("dt", "hr").parquet(s.table_path("raw_events"))
    before = {"hr": 9, "kept": "hour 9, outside the span"}
    spark.createDataFrame([before]).write.parquet(f"{s.table_path('hourly_pages')}/dt=2026-11-20/hr=9")
    spark.createDataFrame([{"stale": "a quiet hour's old rows"}]).write.parquet(
        f"{s.table_path('hourly_pages')}/dt=2026-11-20/hr=12")

    run_hours(spark, s, at("2026-11-20T10:00:00"), at("2026-11-20T13:00:00"))

    for table, transform in {"hourly_pages": transform_hourly_pages,
                             "hourly_sections": transform_hourly_sections}.items():
        for hour in (10, 11, 12):
            path = f"{s.table_path(table)}/dt=2026-11-20/hr={hour}"
            files = list(Path(path.removeprefix("file://")).glob("*.parquet"))
            assert len(files) == 1, (table, hour, files)
            alone = [r for r in rows if r["hr"] == hour]
            expected = transform(frame(spark, alone)) if alone else None
            got = spark.read.parquet(path)
            if expected is None:
                assert got.count() == 0 and "stale" not in got.columns, (table, hour)
            else:
                assert expected.count() > 0
                assertDataFrameEqual(got, expected, checkRowOrder=False)
    kept = spark.read.parquet(f"{s.table_path('hourly_pages')}/dt=2026-11-20/hr=9").collect()
    assert [r.asDict() for r in kept] == [before]
