"""Sessionization: a visitor's session ends after 30 minutes without an event.

Sessions are cut from the events themselves, per (app, user) in event-time
order, not taken from the client's ``session_id``. A session belongs to the
UTC day it starts on; the daily job reads a spill margin either side of its
day so that a session crossing midnight is seen whole and counted once, on
the day it began.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clickstream.batch.common import count_if, is_error, is_page_view

SESSION_TIMEOUT_S = 30 * 60  # divides an hour: the daily hours and summary count from the slots

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


# A session's key, the user first: Spark sorts rows (a sort-based aggregation, a sort-merge join) on an
# 8-byte prefix of the first key, and the app, three values, would leave every comparison to the rest.
SESSION_KEY = ["user_id", "app_id", "session_start"]


def _seconds(ts: Column) -> Column:
    return F.unix_micros(ts) / 1_000_000


def session_slot(ts: Column, timeout_s: int = SESSION_TIMEOUT_S) -> Column:
    """Return the timeout_s-long slot of time of a timestamp, as ``_slot`` (see ``session_slots``)."""
    return F.floor(_seconds(ts) / timeout_s).alias("_slot")


def _slot_measures() -> dict[str, Column]:
    purchase = F.col("event_type") == "purchase"
    return {
        "first": F.min("event_ts"),
        "last": F.max("event_ts"),
        "events": F.count(F.lit(1)),
        "page_views": count_if(is_page_view()),
        "bot": F.max(F.col("is_bot").cast("int")),
        "bot_events": count_if(F.col("is_bot")),
        "add_to_cart": count_if(F.col("event_type") == "add_to_cart"),
        "purchases": count_if(purchase),
        "revenue": F.sum(F.when(purchase, F.col("value"))),
        "errors": count_if(is_error()),
    }


# How slots of finer groups combine into one slot: the rest of the measures are sums.
_COMBINE = {"first": F.min, "last": F.max, "bot": F.max}


def session_slots(events: DataFrame, timeout_s: int = SESSION_TIMEOUT_S, *, by: Sequence[str] = (),
                  extra: Sequence[Column] = ()) -> DataFrame:
    """Return per (app, user, timeout_s-long slot of time): first and last event time, and event counts.

    Two events in the same slot are less than timeout_s apart, so a slot never holds a gap: every event
    of a slot belongs to the session of the slot's first event. A session's measures (events, page
    views, bot, purchases, revenue) are then sums of its slots', and one hash aggregation over the
    events, numbers only, gives both the session starts and the measures. Slots start at multiples of
    timeout_s since the epoch: when timeout_s divides an hour, as 30 minutes does, a slot lies within
    one UTC hour and day, and the per-hour and per-day counts of users and events come from the slots
    too (``daily.transform_hours``, ``daily.transform_summary``).

    by: more columns to group by, and extra: more measures. Such finer slots serve a breakdown of
    their own (``daily.place_slots``), and ``combine_slots`` sums them into the plain slots: one pass
    over the events for both.
    """
    return events.groupBy("app_id", "user_id", session_slot(F.col("event_ts"), timeout_s), *by).agg(
        *[measure.alias(name) for name, measure in _slot_measures().items()], *extra)


def combine_slots(finer: DataFrame) -> DataFrame:
    """Return the per (app, user, slot) ``session_slots`` from finer ones (``session_slots(by=...)``)."""
    return finer.groupBy("app_id", "user_id", "_slot").agg(
        *[_COMBINE.get(name, F.sum)(name).alias(name) for name in _slot_measures()])


def session_starts(slots: DataFrame, timeout_s: int = SESSION_TIMEOUT_S) -> DataFrame:
    """Return each (app, user)'s session start times, in order, as the array ``session_starts``.

    slots: ``session_slots`` of the events. An event more than timeout_s after the user's previous one
    starts a session, and only a slot's first event can (a slot holds no gap): the per-user sort sees
    a few slots per session instead of every event.
    """
    per_user = slots.groupBy("user_id", "app_id").agg(  # the user first: see SESSION_KEY
        F.array_sort(F.collect_list(F.struct("first", "last"))).alias("_slots"))

    def after_gap(slot: Column, i: Column) -> Column:
        gap = _seconds(slot["first"]) - _seconds(F.col("_slots")[i - 1]["last"])
        return F.when(i == 0, True).otherwise(gap > timeout_s)

    starts = F.transform(F.filter("_slots", after_gap), lambda s: s["first"])
    return per_user.select("app_id", "user_id", starts.alias("session_starts"))


def assign_sessions(frame: DataFrame, starts: DataFrame | None = None,
                    timeout_s: int = SESSION_TIMEOUT_S, at: str = "event_ts") -> DataFrame:
    """Return the rows with the start time of their session: (app, user, session_start) is its key.

    frame: events, or slots (``session_slots``, at="first", starts given). ``starts`` is
    ``session_starts`` of the events (computed from the frame when it holds events). It has one
    small row per user and is broadcast, so the rows are neither shuffled nor sorted: each takes the
    latest start of its user at or before its time ``at``.
    """
    starts = session_starts(session_slots(frame, timeout_s), timeout_s) if starts is None else starts
    session_start = F.array_max(F.filter("session_starts", lambda start: start <= F.col(at)))
    return (frame.join(F.broadcast(starts), ["app_id", "user_id"])
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
    of_day = sessionized.where(F.to_date("session_start") == F.lit(day))
    # A session starts at its first event's time (ties at that instant are broken by event id).
    opening = F.col("event_ts") == F.col("session_start")
    first = F.struct("event_ts", "event_id", "visit_number", "device_type", "browser", "os", "country",
                     "city", channel().alias("channel"))
    page_view = F.struct("event_ts", "event_id", "page")  # sorted by time, then event id
    return of_day.where(opening | is_page_view()).groupBy(*SESSION_KEY).agg(
        F.min(F.when(opening, first)).alias("opening"),  # min and collect_list skip the other rows' nulls
        F.array_sort(F.collect_list(F.when(is_page_view(), page_view)))["page"].alias("pages"),
    )


def transform_sessions(events: DataFrame, day: date, *, slots: DataFrame | None = None,
                       starts: DataFrame | None = None, visits: DataFrame | None = None) -> DataFrame:
    """Return one row per session that starts on day: duration, pages, bounce, entry and exit pages.

    events: the day's and its spill margin's. Its pieces are computed when not given: ``session_slots``
    of the events, their ``session_starts``, and ``session_visits``. The measures are sums over the
    session's slots (a few rows per session, not every event); the first event and the pages come
    from the visits.
    """
    slots = session_slots(events) if slots is None else slots
    starts = session_starts(slots) if starts is None else starts
    visits = session_visits(assign_sessions(events, starts), day) if visits is None else visits
    slots_of_day = assign_sessions(slots, starts, at="first").where(F.to_date("session_start") == F.lit(day))
    measures = slots_of_day.groupBy(*SESSION_KEY).agg(
        F.max("last").alias("end_ts"),
        *[F.sum(c).alias(c) for c in ("events", "page_views", "purchases", "revenue")],
        F.max("bot").alias("_bot"),
    )
    return (
        measures.join(visits, SESSION_KEY)
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
