"""Live metrics: exact values per window and dimension, and the late-data policy, in a real stream."""

from __future__ import annotations

import pytest

from clickstream.streaming.metrics import transform_active_users, transform_metrics
from tests.support.streaming_frames import FeedHarness, at, ev, frame

KEY = ("window_start", "app_id", "dim", "key")
MOBILE = {"device_type": "mobile", "browser": "Mobile Safari", "os": "iOS", "country": "FR"}


def minute_one() -> list[dict]:
    """Two visitors and a bot on the shop between 12:00 and 12:01, one more view at 12:01."""
    return [
        ev("12:00:05", "u_1", "/home", response_time_ms=100),
        ev("12:00:10", "u_1", "/home", "section_view", section="hero"),
        ev("12:00:12", "u_1", "/home", "section_click", section="hero", element="hero"),
        ev("12:00:25", "u_1", "/home", "engagement_ping", element="page_leave", time_on_page_ms=20_000),
        ev("12:00:15", "u_1", "/home", "engagement_ping", time_on_page_ms=15_000),  # not a leave
        ev("12:00:30", "u_2", "/home", response_time_ms=300, http_status=503, **MOBILE),
        ev("12:00:39", "u_2", "/home", "engagement_ping", element="page_leave", time_on_page_ms=10_000,
           **MOBILE),
        ev("12:00:40", "u_2", "/products", prev_page="/home", response_time_ms=200, **MOBILE),
        ev("12:00:50", "u_3", "/products", response_time_ms=50, is_bot=True, device_type="bot",
           country=None),
        ev("12:01:05", "u_1", "/products", prev_page="/home", response_time_ms=120),
    ]


def test_every_dimension_has_exact_values(spark):
    rows = {tuple(r[k] for k in KEY): r.asDict()
            for r in transform_metrics(frame(spark, minute_one())).collect()}
    w0, w1 = at("12:00:00").replace(tzinfo=None), at("12:01:00").replace(tzinfo=None)
    assert sorted((k[0], k[2], k[3]) for k in rows) == sorted([
        (w0, "app", "*"), (w0, "page", "/home"), (w0, "page", "/products"),
        (w0, "section", "/home|hero"), (w0, "device", "desktop"), (w0, "device", "mobile"),
        (w0, "device", "bot"), (w0, "browser", "Firefox"), (w0, "browser", "Mobile Safari"),
        (w0, "os", "Linux"), (w0, "os", "iOS"),
        (w0, "country", "DE"), (w0, "country", "FR"), (w0, "country", "??"),
        (w0, "transition", "/home -> /products"),
        (w1, "app", "*"), (w1, "page", "/products"), (w1, "device", "desktop"), (w1, "browser", "Firefox"),
        (w1, "os", "Linux"), (w1, "country", "DE"), (w1, "transition", "/home -> /products"),
    ])
    home = rows[(w0, "shop", "page", "/home")]
    assert {k: home[k] for k in (
        "events", "page_views", "section_views", "section_clicks", "section_scrolls", "users", "viewers",
        "bot_events", "page_leaves", "time_on_page_avg_ms", "time_on_page_p50_ms", "time_on_page_p95_ms",
        "responses", "errors", "error_rate", "response_p50_ms", "response_p95_ms", "dt",
    )} == {
        "events": 7, "page_views": 2, "section_views": 1, "section_clicks": 1, "section_scrolls": 0,
        "users": 2, "viewers": 2, "bot_events": 0, "page_leaves": 2, "time_on_page_avg_ms": 15_000.0,
        "time_on_page_p50_ms": 15_000.0, "time_on_page_p95_ms": 19_500.0, "responses": 2, "errors": 1,
        "error_rate": 0.5, "response_p50_ms": 200.0, "response_p95_ms": 290.0, "dt": "2026-11-20",
    }
    app = rows[(w0, "shop", "app", "*")]
    assert (app["events"], app["page_views"], app["users"], app["bot_events"], app["errors"],
            app["responses"], app["response_p50_ms"]) == (9, 4, 3, 1, 1, 4, 150.0)
    section = rows[(w0, "shop", "section", "/home|hero")]
    assert (section["events"], section["section_views"], section["section_clicks"], section["users"]) \
        == (2, 1, 1, 1)
    mobile = rows[(w0, "shop", "device", "mobile")]
    assert (mobile["events"], mobile["page_views"], mobile["users"], mobile["error_rate"]) == (3, 2, 1, 0.5)
    # The mobile visitor's browser and OS count its events; the others (the bot too) are Firefox on Linux.
    assert rows[(w0, "shop", "browser", "Mobile Safari")]["events"] == 3
    assert rows[(w0, "shop", "os", "iOS")]["events"] == 3
    firefox = rows[(w0, "shop", "browser", "Firefox")]
    assert (firefox["events"], firefox["page_views"], firefox["users"]) == (6, 2, 2)
    assert rows[(w0, "shop", "country", "??")]["bot_events"] == 1
    assert rows[(w0, "shop", "transition", "/home -> /products")]["page_views"] == 1
    assert rows[(w1, "shop", "transition", "/home -> /products")]["page_views"] == 1
    products = rows[(w0, "shop", "page", "/products")]
    assert (products["viewers"], products["time_on_page_avg_ms"], products["error_rate"]) == (2, None, 0.0)


@pytest.fixture
def harness(spark, tmp_path):
    h = FeedHarness(spark, tmp_path, transform_metrics)
    yield h
    h.stop()


def test_late_events_are_left_out_and_windows_update_until_closed(harness):
    harness.send(minute_one()[:4])
    first = harness.latest(*KEY)
    home0 = (at("12:00:00").replace(tzinfo=None), "shop", "page", "/home")
    assert (first[home0]["events"], first[home0]["users"]) == (4, 1)

    # Same window, on time: the window is updated in place (update mode, new version).
    harness.send(minute_one()[4:])
    home = harness.latest(*KEY)[home0]
    assert (home["events"], home["users"], home["page_views"]) == (7, 2, 2)

    # 12:05 moves the watermark to 12:03: the 12:00 window is closed from the next batch on.
    harness.send([ev("12:05:00", "u_9", "/home")])
    harness.send([ev("12:00:45", "u_8", "/home"),                      # late: dropped
                  ev("12:03:30", "u_7", "/home")])                     # on time: counted
    latest = harness.latest(*KEY)
    assert latest[home0]["events"] == 7 and latest[home0]["users"] == 2
    assert not [r for r in harness.out if r["_batch"] == 3 and r["window_start"] == home0[0]]
    home3 = latest[(at("12:03:00").replace(tzinfo=None), "shop", "page", "/home")]
    assert (home3["events"], home3["users"], home3["page_views"]) == (1, 1, 1)


@pytest.fixture
def unique_harness(spark, tmp_path):
    h = FeedHarness(spark, tmp_path, lambda events: transform_metrics(events, unique="event_id"))
    yield h
    h.stop()


def test_repeated_event_ids_are_counted_once(unique_harness):
    events = minute_one()
    home0 = (at("12:00:00").replace(tzinfo=None), "shop", "page", "/home")
    app0 = (at("12:00:00").replace(tzinfo=None), "shop", "app", "*")
    # Repeats within a batch, and of an earlier batch's events (the collector retried them).
    unique_harness.send([*events[:6], events[0], events[5]])
    unique_harness.send([*events[6:], events[0], events[1], events[9]])
    latest = unique_harness.latest(*KEY)
    assert (latest[home0]["events"], latest[home0]["users"], latest[home0]["page_views"],
            latest[home0]["errors"], latest[home0]["response_p95_ms"]) == (7, 2, 2, 1, 290.0)
    assert (latest[app0]["events"], latest[app0]["page_views"], latest[app0]["users"]) == (9, 4, 3)
    products1 = latest[(at("12:01:00").replace(tzinfo=None), "shop", "page", "/products")]
    assert (products1["events"], products1["page_views"]) == (1, 1)


def test_active_users_slide_over_five_minutes(spark):
    rows = [ev("12:00:05", "u_1", "/home"), ev("12:02:00", "u_2", "/home"),
            ev("12:04:30", "u_1", "/products"), ev("12:06:10", "u_3", "/home")]
    got = {(r.window_start.strftime("%H:%M"), r.page): r.active_users
           for r in transform_active_users(frame(spark, rows)).collect()}
    # Windows [h:m, h:m+5) starting every minute; a user counts once per window and page.
    assert {k: v for k, v in got.items() if k[0] == "12:02"} == {("12:02", "/home"): 2,
                                                                 ("12:02", "/products"): 1,
                                                                 ("12:02", "*"): 3}
    assert got[("12:00", "*")] == 2 and got[("12:00", "/home")] == 2
    assert got[("12:04", "/home")] == 1 and got[("12:04", "*")] == 2
    assert sorted({k[0] for k in got}) == ["11:56", "11:57", "11:58", "11:59", "12:00", "12:01",
                                           "12:02", "12:03", "12:04", "12:05", "12:06"]
