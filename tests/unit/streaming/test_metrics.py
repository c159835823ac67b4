"""Live metrics as per-batch partials: exact values per window and dimension, merged across batches."""

from __future__ import annotations

from pyspark.sql import functions as F

from clickstream.streaming.metrics import (
    active_user_parts,
    active_users_sql,
    finish,
    merge,
    metric_parts,
    metrics_sql,
)
from tests.support.streaming_checks import within_rank
from tests.support.streaming_frames import at, ev, frame

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


def metrics(spark, *batches: list[dict]) -> dict[tuple, dict]:
    """Each batch's partials, merged as the view merges them."""
    parts = [metric_parts(frame(spark, rows)) for rows in batches]
    union = parts[0]
    for more in parts[1:]:
        union = union.unionByName(more)
    return {tuple(r[k] for k in KEY): r.asDict() for r in finish(merge(union)).collect()}


def test_every_dimension_has_exact_values(spark):
    rows = metrics(spark, minute_one())
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
    # Percentiles are the sketch's nearest rank: exact below 200 values (percentile_disc).
    assert {k: home[k] for k in (
        "events", "page_views", "section_views", "section_clicks", "section_scrolls", "users", "viewers",
        "bot_events", "page_leaves", "time_on_page_avg_ms", "time_on_page_p50_ms", "time_on_page_p95_ms",
        "responses", "errors", "error_rate", "response_p50_ms", "response_p95_ms", "dt",
    )} == {
        "events": 7, "page_views": 2, "section_views": 1, "section_clicks": 1, "section_scrolls": 0,
        "users": 2, "viewers": 2, "bot_events": 0, "page_leaves": 2, "time_on_page_avg_ms": 15_000.0,
        "time_on_page_p50_ms": 10_000.0, "time_on_page_p95_ms": 20_000.0, "responses": 2, "errors": 1,
        "error_rate": 0.5, "response_p50_ms": 100.0, "response_p95_ms": 300.0, "dt": "2026-11-20",
    }
    app = rows[(w0, "shop", "app", "*")]
    assert (app["events"], app["page_views"], app["users"], app["bot_events"], app["errors"],
            app["responses"], app["response_p50_ms"]) == (9, 4, 3, 1, 1, 4, 100.0)
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
    assert (products["viewers"], products["time_on_page_avg_ms"], products["time_on_page_p95_ms"],
            products["error_rate"]) == (2, None, None, 0.0)


def test_partials_of_several_batches_merge_to_the_values_of_one(spark):
    events = minute_one()
    # A user seen in two batches counts once; a late event (12:00:45 after 12:01:05) counts too.
    late = ev("12:00:45", "u_1", "/home", response_time_ms=900)
    whole = metrics(spark, [*events, late])
    split = metrics(spark, events[:3], events[3:7], events[7:], [late])
    assert split == whole
    home = whole[(at("12:00:00").replace(tzinfo=None), "shop", "page", "/home")]
    assert (home["events"], home["users"], home["page_views"], home["response_p95_ms"]) == (8, 2, 3, 900.0)


def test_the_view_query_merges_as_the_dataframe_does(spark):
    events = minute_one()
    parts = metric_parts(frame(spark, events[:5])).unionByName(metric_parts(frame(spark, events[5:])))
    parts.createOrReplaceTempView("metric_parts_test")
    by_view = {tuple(r[k] for k in KEY): r.asDict()
               for r in spark.sql(metrics_sql("metric_parts_test")).collect()}
    assert by_view == metrics(spark, events)


def test_users_and_percentiles_are_within_their_bounds_at_scale(spark):
    """Thousands of users and values in a window: sketches against exact values (2 %; 2.7 % of rank)."""
    rows = spark.range(60_000).select(
        F.lit("shop").alias("app_id"), F.lit("page_view").alias("event_type"),
        (F.lit(at("12:00:00").replace(tzinfo=None)) + F.expr("make_interval(0, 0, 0, 0, 0, 0, id % 60)"))
        .alias("event_ts"),
        F.concat(F.lit("u_"), (F.col("id") * 7919 % 20_000).cast("string")).alias("user_id"),
        F.concat(F.lit("/p"), (F.col("id") % 3).cast("string")).alias("page"),
        F.lit(None).cast("string").alias("prev_page"), F.lit(None).cast("string").alias("section"),
        F.lit(None).cast("string").alias("element"), F.lit("desktop").alias("device_type"),
        F.lit("Firefox").alias("browser"), F.lit("Linux").alias("os"), F.lit("DE").alias("country"),
        F.lit(False).alias("is_bot"), F.lit(None).cast("long").alias("time_on_page_ms"),
        (F.pow(F.col("id") * 104729 % 10_007, 1.5) / 100).cast("long").alias("response_time_ms"),
        F.lit(200).cast("long").alias("http_status"), (F.col("id") % 7).alias("_batch"))
    parts = [metric_parts(rows.filter(F.col("_batch") == b)) for b in range(7)]
    union = parts[0]
    for more in parts[1:]:
        union = union.unionByName(more)
    sketched = {r["key"]: r for r in finish(merge(union)).filter("dim = 'page'").collect()}
    exact = {r["page"]: r for r in rows.groupBy("page").agg(
        F.count_distinct("user_id").alias("users"),
        F.collect_list("response_time_ms").alias("responses")).collect()}
    assert set(sketched) == set(exact) == {"/p0", "/p1", "/p2"}
    for page, row in exact.items():
        got = sketched[page]
        assert abs(got["users"] - row["users"]) <= 0.02 * row["users"]
        assert within_rank(row["responses"], got["response_p95_ms"], 0.95)
        assert within_rank(row["responses"], got["response_p50_ms"], 0.50)
        assert not within_rank(row["responses"], got["response_p50_ms"], 0.95)   # the check can fail
        assert sketched[page]["page_views"] == 20_000


def test_active_users_slide_over_five_minutes(spark):
    rows = [ev("12:00:05", "u_1", "/home"), ev("12:02:00", "u_2", "/home"),
            ev("12:04:30", "u_1", "/products"), ev("12:06:10", "u_3", "/home")]
    # Two batches' partials, merged by the view's query.
    parts = active_user_parts(frame(spark, rows[:2])).unionByName(active_user_parts(frame(spark, rows[2:])))
    parts.createOrReplaceTempView("active_parts_test")
    got = {(r.window_start.strftime("%H:%M"), r.page): r.active_users
           for r in spark.sql(active_users_sql("active_parts_test")).collect()}
    # Windows [h:m, h:m+5) starting every minute; a user counts once per window and page.
    assert {k: v for k, v in got.items() if k[0] == "12:02"} == {("12:02", "/home"): 2,
                                                                 ("12:02", "/products"): 1,
                                                                 ("12:02", "*"): 3}
    assert got[("12:00", "*")] == 2 and got[("12:00", "/home")] == 2
    assert got[("12:04", "/home")] == 1 and got[("12:04", "*")] == 2
    assert sorted({k[0] for k in got}) == ["11:56", "11:57", "11:58", "11:59", "12:00", "12:01",
                                           "12:02", "12:03", "12:04", "12:05", "12:06"]
