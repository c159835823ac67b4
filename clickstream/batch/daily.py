"""Daily aggregates of one UTC day: pages, sections, paths, geography, channels, devices, hours, summary.

``events`` are the day's archived events; ``sessions`` the rows of
``transform_sessions`` (sessions that start on the day), ``visits`` their
ordered page views (``session_visits``), ``starts`` the users' session start
times and ``slots`` the day's per (app, user, 30-minute slot) counts
(``sessions.session_slots``). Rankings use ``rank()``: rows tied at the cut
of a top-N all stay, with the same rank.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from clickstream.batch.common import (
    PERCENTILES,
    count_if,
    dwell_ms,
    is_interaction,
    is_page_view,
    ratio,
    response_ms,
)
from clickstream.batch.hourly import transform_hourly_sections
from clickstream.batch.sessions import assign_sessions, combine_slots, session_slots, session_starts

TOP_PATHS = 10
PEAK_HOURS = 3


def _rank_in_app(*order: Column) -> Column:
    return F.rank().over(Window.partitionBy("app_id").orderBy(*order))


def transform_daily_pages(events: DataFrame, sessions: DataFrame) -> DataFrame:
    """Return per (app, page): views, users, share of app views, time on page (the page-leave beacons: how
    many, and their average), entrances, exits, rank."""
    pages = events.groupBy("app_id", "page").agg(
        count_if(is_page_view()).alias("page_views"),
        F.count_distinct("user_id").alias("unique_users"),
        count_if(is_interaction()).alias("section_interactions"),
        F.count(dwell_ms()).alias("page_leaves"),
        F.avg(dwell_ms()).alias("time_on_page_avg_ms"),
    )
    entrances = sessions.groupBy("app_id", F.col("entry_page").alias("page")).agg(
        F.count(F.lit(1)).alias("entrances"))
    exits = sessions.groupBy("app_id", F.col("exit_page").alias("page")).agg(F.count(F.lit(1)).alias("exits"))
    app_views = F.sum("page_views").over(Window.partitionBy("app_id"))
    return (
        pages.join(entrances, ["app_id", "page"], "left").join(exits, ["app_id", "page"], "left")
        .select(
            "app_id", "page", "page_views", "unique_users",
            ratio(F.col("page_views"), app_views).alias("traffic_share"),
            "section_interactions", "page_leaves", "time_on_page_avg_ms",
            F.coalesce("entrances", F.lit(0)).alias("entrances"),
            F.coalesce("exits", F.lit(0)).alias("exits"),
            _rank_in_app(F.desc("page_views")).alias("rank_in_app"),
        )
    )  # fmt: skip


def transform_daily_sections(events: DataFrame) -> DataFrame:
    """Return per (app, page, section): interactions by kind, users, and rank by interactions in the app."""
    sections = transform_hourly_sections(events)
    return sections.withColumn("rank_in_app", _rank_in_app(F.desc("interactions")))


def transform_paths(visits: DataFrame, top_n: int = TOP_PATHS) -> DataFrame:
    """Return each app's top-N 3-step navigation paths (consecutive page views in one session).

    visits: the sessions' page views in order (``sessions.session_visits``).
    """
    pages, n = F.col("pages"), F.size("pages")
    triples = F.when(n >= 3, F.transform(F.sequence(F.lit(0), n - 3), lambda i: F.struct(
        pages[i].alias("step1"), pages[i + 1].alias("step2"), pages[i + 2].alias("step3"))))
    counted = (
        visits.select("app_id", "user_id", "session_start", F.explode(triples).alias("path"))
        .groupBy("app_id", "path.step1", "path.step2", "path.step3")
        .agg(F.count(F.lit(1)).alias("occurrences"),
             F.count_distinct("user_id", "session_start").alias("sessions"))
        .withColumn("rank_in_app", _rank_in_app(F.desc("occurrences")))
    )
    return counted.where(F.col("rank_in_app") <= top_n)


PLACE = ["app_id", "country", "city"]
_COORDINATES = ("latitude", "longitude")


def place_slots(events: DataFrame) -> DataFrame:
    """Return ``session_slots`` per (app, user, slot, country, city), with the coordinates' sums.

    ``sessions.combine_slots`` of them are the plain slots, so one pass over the events serves both the
    sessions and the geography.
    """
    return session_slots(events, by=["country", "city"], extra=[
        *[F.sum(c).alias(f"{c}_sum") for c in _COORDINATES],
        *[F.count(c).alias(f"{c}_n") for c in _COORDINATES],
    ])


def transform_geo(events: DataFrame, starts: DataFrame | None = None, *,
                  places: DataFrame | None = None) -> DataFrame:
    """Return per (app, country, city): events, page views, users, sessions, and where the city is.

    events: the day's; starts: ``session_starts`` of the day and its spill margin, and places: the
    day's ``place_slots``, computed from the events when not given. All events of a slot share a
    session (``session_slots``), so only these few rows are matched to their session, then summed
    per user, then per place: no distinct count over the events, which Spark plans by copying every
    event once per distinct count.
    """
    places = place_slots(events) if places is None else places
    starts = session_starts(combine_slots(places)) if starts is None else starts
    sums = ["events", "page_views", *[f"{c}_{m}" for c in _COORDINATES for m in ("sum", "n")]]
    per_user = (
        assign_sessions(places.fillna({"country": "??", "city": "??"}), starts, at="first")
        .groupBy(*PLACE, "user_id")
        .agg(F.count_distinct("session_start").alias("sessions"), *[F.sum(c).alias(c) for c in sums])
    )
    return per_user.groupBy(*PLACE).agg(
        F.sum("events").alias("events"),
        F.sum("page_views").alias("page_views"),
        F.count(F.lit(1)).alias("unique_users"),
        F.sum("sessions").alias("sessions"),
        *[F.round(ratio(F.sum(f"{c}_sum"), F.sum(f"{c}_n")), 4).alias(c) for c in _COORDINATES],
    )


def transform_channels(sessions: DataFrame) -> DataFrame:
    """Return per (app, channel): sessions, users, bounce rate, conversions and revenue."""
    return sessions.groupBy("app_id", "channel").agg(
        F.count(F.lit(1)).alias("sessions"),
        F.count_distinct("user_id").alias("unique_users"),
        F.avg(F.col("bounce").cast("double")).alias("bounce_rate"),
        count_if(F.col("converted")).alias("conversions"),
        F.avg(F.col("converted").cast("double")).alias("conversion_rate"),
        F.sum("revenue").alias("revenue"),
    )


def transform_devices(sessions: DataFrame) -> DataFrame:
    """Return per (app, device type, browser): sessions, users and average session duration."""
    return sessions.groupBy("app_id", "device_type", "browser").agg(
        F.count(F.lit(1)).alias("sessions"),
        F.count_distinct("user_id").alias("unique_users"),
        F.avg("duration_s").alias("avg_duration_s"),
    )


def response_histogram(events: DataFrame) -> DataFrame:
    """Return per (app, hour, response time): the number of page views ``n`` that took that long.

    Exact percentiles of any grouping by hour come from it (``percentile`` with ``n`` as frequency):
    a few thousand rows per hour stand in for the page views.
    """
    return events.where(is_page_view()).groupBy(
        "app_id", F.hour("event_ts").alias("hr"), response_ms().alias("response_ms")).agg(
        F.count(F.lit(1)).alias("n"))


def _day_pieces(events: DataFrame, slots: DataFrame | None, responses: DataFrame | None
                ) -> tuple[DataFrame, DataFrame]:  # fmt: skip
    return (session_slots(events) if slots is None else slots,
            response_histogram(events) if responses is None else responses)


def transform_hours(events: DataFrame, peak_hours: int = PEAK_HOURS, *, slots: DataFrame | None = None,
                    responses: DataFrame | None = None) -> DataFrame:
    """Return per (app, hour): traffic, response p50/p95, error rate, and whether it is a peak hour.

    events: the day's. Counts and users come from the day's ``session_slots`` (each lies within an
    hour), response times from ``response_histogram``; both are computed from the events when not given.
    """
    keys = ["app_id", "hr"]
    slots, responses = _day_pieces(events, slots, responses)
    traffic = slots.groupBy("app_id", F.hour("first").alias("hr")).agg(
        *[F.sum(c).alias(c) for c in ("events", "page_views", "errors")],
        F.count_distinct("user_id").alias("unique_users"),
    )
    pct = responses.groupBy(*keys).agg(
        F.percentile("response_ms", list(PERCENTILES), F.col("n")).alias("pct"))
    return (
        traffic.join(pct, keys, "left")
        .select("app_id", "hr", "events", "page_views", "unique_users",
                F.col("pct")[0].alias("response_p50_ms"), F.col("pct")[1].alias("response_p95_ms"),
                "errors", ratio(F.col("errors"), F.col("page_views")).alias("error_rate"))
        .withColumn("traffic_rank", _rank_in_app(F.desc("page_views")))
        .withColumn("is_peak", F.col("traffic_rank") <= peak_hours)
    )


def transform_summary(events: DataFrame, sessions: DataFrame, hours: DataFrame, *,
                      slots: DataFrame | None = None, responses: DataFrame | None = None) -> DataFrame:
    """Return one row per app: traffic, new/returning users, sessions, bots, sales, errors, peak slowdown.

    events: the day's; as in ``transform_hours``, the traffic comes from the day's ``session_slots``
    and the response times from ``response_histogram``, computed from the events when not given.
    """
    slots, responses = _day_pieces(events, slots, responses)
    traffic = slots.groupBy("app_id").agg(
        *[F.sum(c).alias(c) for c in ("events", "page_views")],
        F.count_distinct("user_id").alias("unique_users"),
        *[F.sum(c).alias(c) for c in ("bot_events", "add_to_cart", "purchases", "errors")],
    )
    visits = sessions.groupBy("app_id").agg(
        F.count(F.lit(1)).alias("sessions"),
        F.count_distinct(F.when(F.col("is_new_user"), F.col("user_id"))).alias("new_users"),
        F.count_distinct(F.when(~F.col("is_new_user"), F.col("user_id"))).alias("returning_users"),
        F.avg("duration_s").alias("avg_session_s"),
        F.avg("page_views").alias("pages_per_session"),
        F.avg(F.col("bounce").cast("double")).alias("bounce_rate"),
        F.sum("revenue").alias("revenue"),
    )
    peak = hours.select("app_id", "hr", "is_peak")
    slowdown = responses.join(F.broadcast(peak), ["app_id", "hr"]).groupBy("app_id").agg(
        F.percentile(F.when(F.col("is_peak"), F.col("response_ms")), 0.95, F.col("n"))
        .alias("peak_response_p95_ms"),
        F.percentile(F.when(~F.col("is_peak"), F.col("response_ms")), 0.95, F.col("n"))
        .alias("offpeak_response_p95_ms"),
    )
    return (
        traffic.join(visits, "app_id", "left").join(slowdown, "app_id", "left")
        .select(
            "app_id", "events", "page_views", "unique_users",
            F.coalesce("new_users", F.lit(0)).alias("new_users"),
            F.coalesce("returning_users", F.lit(0)).alias("returning_users"),
            F.coalesce("sessions", F.lit(0)).alias("sessions"),
            "avg_session_s", "pages_per_session", "bounce_rate", "bot_events",
            ratio(F.col("bot_events"), F.col("events")).alias("bot_share"),
            "add_to_cart", "purchases", F.coalesce("revenue", F.lit(0.0)).alias("revenue"),
            "errors", ratio(F.col("errors"), F.col("page_views")).alias("error_rate"),
            "peak_response_p95_ms", "offpeak_response_p95_ms",
            ratio(F.col("peak_response_p95_ms"), F.col("offpeak_response_p95_ms")).alias("peak_slowdown"),
        )
    )  # fmt: skip
