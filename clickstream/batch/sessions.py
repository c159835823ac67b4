"""Sessionization: a visitor's session ends after 30 minutes without an event.

Sessions are cut from the events themselves, per (app, user) in event-time
order, not taken from the client's ``session_id``. A session belongs to the
UTC day it starts on; the daily job reads a spill margin either side of its
day so that a session crossing midnight is seen whole and counted once, on
the day it began.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clickstream.batch.common import count_if, is_page_view

SESSION_TIMEOUT_S = 30 * 60

SEARCH_ENGINES = r"^https?://([a-z0-9-]+\.)*(google|bing|duckduckgo|yahoo|baidu|yandex|ecosia)\."
SOCIAL_NETWORKS = r"^https?://([a-z0-9-]+\.)*(t\.co|twitter\.com|x\.com|facebook\.com|linkedin\.com|instagram\.com|reddit\.com)/"


def channel() -> Column:
    """Return the traffic channel of an event from its UTM medium, else its referrer."""
    medium, referrer = F.col("utm_medium"), F.col("referrer")
    return (
        F.when(medium.isin("cpc", "ppc", "paid_social", "display"), "paid")
        .when(medium == "email", "email")
        .when(medium == "social", "social")
        .when(medium == "referral", "referral")
        .when(referrer.rlike(SEARCH_ENGINES), "search")
        .when(referrer.rlike(SOCIAL_NETWORKS), "social")
        .when(referrer.isNotNull(), "referral")
        .otherwise("direct")
    )


def _seconds(ts: Column) -> Column:
    return F.unix_micros(ts) / 1_000_000


def session_starts(events: DataFrame, timeout_s: int = SESSION_TIMEOUT_S) -> DataFrame:
    """Return each (app, user)'s session start times, in order, as the array ``session_starts``.

    An event more than timeout_s after the user's previous one starts a session. Two events in the same
    timeout_s-long slot of time are less than timeout_s apart, so a slot never holds a gap: only the
    first and last event of each (user, slot) matter. Finding them is one hash aggregation over the
    events; the per-user sort then sees a few slots per session instead of every event.
    """
    slot = F.floor(_seconds(F.col("event_ts")) / timeout_s).alias("_slot")
    slots = events.groupBy("app_id", "user_id", slot).agg(
        F.min("event_ts").alias("first"), F.max("event_ts").alias("last"))
    per_user = slots.groupBy("app_id", "user_id").agg(
        F.array_sort(F.collect_list(F.struct("first", "last"))).alias("_slots"))

    def after_gap(slot: Column, i: Column) -> Column:
        gap = _seconds(slot["first"]) - _seconds(F.col("_slots")[i - 1]["last"])
        return F.when(i == 0, True).otherwise(gap > timeout_s)

    starts = F.transform(F.filter("_slots", after_gap), lambda s: s["first"])
    return per_user.select("app_id", "user_id", starts.alias("session_starts"))


def assign_sessions(events: DataFrame, starts: DataFrame | None = None,
                    timeout_s: int = SESSION_TIMEOUT_S) -> DataFrame:
    """Return the events with the start time of their session: (app, user, session_start) is its key.

    ``starts`` is ``session_starts`` of the events (computed when not given). It has one small row per
    user and is broadcast, so the events themselves are neither shuffled nor sorted: each takes the
    latest start of its user at or before its own time.
    """
    starts = session_starts(events, timeout_s) if starts is None else starts
    session_start = F.array_max(F.filter("session_starts", lambda start: start <= F.col("event_ts")))
    return (events.join(F.broadcast(starts), ["app_id", "user_id"])
            .withColumn("session_start", session_start).drop("session_starts"))


def session_id() -> Column:
    """Return a session's id: a hash of (app, user, start time), the same on every rerun."""
    start = F.date_format("session_start", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
    return F.substring(F.sha2(F.concat_ws("|", "app_id", "user_id", start), 256), 1, 16)


def session_visits(sessionized: DataFrame, day: date) -> DataFrame:
    """Return one row per session that starts on day: its ``opening`` event and the ``pages`` it viewed.

    One aggregation over the only rows it needs, the sessions' opening events and page views (about a
    fifth of the events): aggregates that hold strings run as sort aggregations in Spark. The
    ``sessions`` table takes its first event's attributes and entry and exit pages from it, the daily
    paths their 3-step paths.
    """
    key = ["app_id", "user_id", "session_start"]
    of_day = sessionized.where(F.to_date("session_start") == F.lit(day))
    # A session starts at its first event's time (ties at that instant are broken by event id).
    opening = F.col("event_ts") == F.col("session_start")
    first = F.struct("event_ts", "event_id", "visit_number", "device_type", "browser", "os", "country",
                     "city", channel().alias("channel"))
    page_view = F.struct("event_ts", "event_id", "page")  # sorted by time, then event id
    return of_day.where(opening | is_page_view()).groupBy(*key).agg(
        F.min(F.when(opening, first)).alias("opening"),  # min and collect_list skip the other rows' nulls
        F.array_sort(F.collect_list(F.when(is_page_view(), page_view)))["page"].alias("pages"),
    )


def transform_sessions(sessionized: DataFrame, day: date, visits: DataFrame | None = None) -> DataFrame:
    """Return one row per session that starts on day: duration, pages, bounce, entry and exit pages.

    Two aggregations instead of one: the numeric measures over every event (a hash aggregation), and
    ``session_visits`` (computed when not given) for the first event and the pages.
    """
    key = ["app_id", "user_id", "session_start"]
    visits = session_visits(sessionized, day) if visits is None else visits
    measures = sessionized.where(F.to_date("session_start") == F.lit(day)).groupBy(*key).agg(
        F.max("event_ts").alias("end_ts"),
        F.count(F.lit(1)).alias("events"),
        count_if(is_page_view()).alias("page_views"),
        F.max(F.col("is_bot").cast("int")).alias("_bot"),
        count_if(F.col("event_type") == "purchase").alias("purchases"),
        F.sum(F.when(F.col("event_type") == "purchase", F.col("value"))).alias("revenue"),
    )
    return (
        measures.join(visits, key)
        .select(
            "app_id", session_id().alias("session_id"), "user_id", F.col("session_start").alias("start_ts"),
            "end_ts",
            (_seconds(F.col("end_ts")) - _seconds(F.col("session_start"))).alias("duration_s"),
            "events", "page_views",
            (F.col("page_views") <= 1).alias("bounce"),
            F.get("pages", 0).alias("entry_page"), F.get("pages", F.size("pages") - 1).alias("exit_page"),
            *[F.col("opening")[f].alias(f)
              for f in ("channel", "device_type", "browser", "os", "country", "city")],
            (F.col("_bot") == 1).alias("is_bot"),
            (F.col("opening")["visit_number"] == 1).alias("is_new_user"),
            (F.col("purchases") > 0).alias("converted"),
            F.coalesce(F.col("revenue"), F.lit(0.0)).alias("revenue"),
            (F.to_date("end_ts") > F.to_date("start_ts")).alias("crosses_midnight"),
        )
    )  # fmt: skip
