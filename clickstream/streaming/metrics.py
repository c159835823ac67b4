"""Live metrics: per-app event-time windows over the valid events, each event id counted once.

One streaming aggregation computes every breakdown at once: each event is
fanned out to the dimensions it belongs to — the app as a whole (``app``/``*``),
its ``page``, its ``section`` (``page|section``), its ``device`` type, its
``browser``, its ``os``, its ``country`` and, for page views, its ``transition``
(``prev -> page``) — and
grouped by (window, app, dimension, key). Measures that do not apply to a
dimension are simply zero or null there.

Late-data policy (docs/streaming.md): the watermark trails the newest event
time seen by ``WATERMARK``. An event older than the watermark when it arrives
is left out of the live metrics (Spark drops it from the stateful
aggregation) but it is still archived in ``raw_events``, so the hourly and
daily jobs count it. A window is *closed* once the watermark passes its end;
its values never change after that.

The application reads the events topic straight into these metrics (one hop,
no wait for the archive) and passes ``unique="event_id"``: a repeated event id
is dropped while its event time is within the watermark, and one older than
that is late anyway, so a closed window counts exactly the events the archive
holds for it (docs/streaming.md names the one exception).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

WINDOW = "1 minute"
ACTIVE_WINDOW, ACTIVE_SLIDE = "5 minutes", "1 minute"
WATERMARK = "2 minutes"
ALL = "*"

INTERACTIONS = ("section_view", "section_click", "section_scroll", "section_hover", "button_click")
COUNTED = ("page_view", *INTERACTIONS, "add_to_cart", "purchase")
LEAVE_BEACON = "page_leave"  # simulators.journey.LEAVE_BEACON: the ping with the whole dwell time
SECTION_LEAVE = "section_leave"  # simulators.journey.SECTION_LEAVE: the ping with a section's time in view

# event_type -> its count column
COUNT_COLUMNS = {t: "add_to_cart" if t == "add_to_cart" else f"{t}s" for t in COUNTED}

DIMENSIONS = ("app", "page", "section", "device", "browser", "os", "country", "transition")


def _dimensions() -> Column:
    """Return the (dim, key) pairs an event is counted under."""
    page_view = F.col("event_type") == "page_view"
    pairs = [
        ("app", F.lit(ALL)),
        ("page", F.col("page")),
        ("section", F.when(F.col("section").isNotNull(), F.concat_ws("|", "page", "section"))),
        ("device", F.col("device_type")),
        ("browser", F.col("browser")),
        ("os", F.col("os")),
        ("country", F.coalesce(F.col("country"), F.lit("??"))),
        ("transition", F.when(page_view & F.col("prev_page").isNotNull(),
                              F.concat_ws(" -> ", "prev_page", "page"))),
    ]
    return F.filter(F.array(*[F.struct(F.lit(dim).alias("dim"), key.alias("key")) for dim, key in pairs]),
                    lambda d: d["key"].isNotNull())


def _count_if(condition: Column) -> Column:
    return F.count(F.when(condition, True))


def _measures() -> list[Column]:
    """Return the aggregate columns of one (window, app, dim, key) group."""
    is_type = {t: F.col("event_type") == t for t in COUNTED}
    leave = (F.col("event_type") == "engagement_ping") & (F.col("element") == LEAVE_BEACON)
    dwell = F.when(leave, F.col("time_on_page_ms"))
    response = F.when(is_type["page_view"], F.col("response_time_ms"))
    return [
        F.count(F.lit(1)).alias("events"),
        *[_count_if(cond).alias(COUNT_COLUMNS[t]) for t, cond in is_type.items()],
        # Exact distinct users: a set per group (count(DISTINCT) has no streaming state).
        F.size(F.collect_set("user_id")).alias("users"),
        F.size(F.collect_set(F.when(is_type["page_view"], F.col("user_id")))).alias("viewers"),
        _count_if(F.col("is_bot")).alias("bot_events"),
        F.count(dwell).alias("page_leaves"),
        F.avg(dwell).alias("time_on_page_avg_ms"),
        F.percentile(dwell, F.array(F.lit(0.5), F.lit(0.95))).alias("_dwell_pct"),
        F.count(response).alias("responses"),
        _count_if(is_type["page_view"] & (F.col("http_status") >= 500)).alias("errors"),
        F.percentile(response, F.array(F.lit(0.5), F.lit(0.95))).alias("_response_pct"),
    ]


def _finish(df: DataFrame) -> DataFrame:
    """Flatten the window and percentile arrays into named columns, add dt and the error rate."""
    return df.select(
        F.col("window.start").alias("window_start"),
        F.col("window.end").alias("window_end"),
        "app_id", "dim", "key",
        *[c for c in df.columns if c not in ("window", "app_id", "dim", "key")
          and not c.startswith("_")],
        F.col("_dwell_pct")[0].alias("time_on_page_p50_ms"),
        F.col("_dwell_pct")[1].alias("time_on_page_p95_ms"),
        F.col("_response_pct")[0].alias("response_p50_ms"),
        F.col("_response_pct")[1].alias("response_p95_ms"),
        F.when(F.col("responses") > 0, F.col("errors") / F.col("responses")).alias("error_rate"),
        F.date_format("window.start", "yyyy-MM-dd").alias("dt"),
    )


def transform_metrics(events: DataFrame, window: str = WINDOW, watermark: str = WATERMARK,
                      unique: str | None = None) -> DataFrame:
    """Aggregate events per tumbling event-time window, app and dimension (see module doc).

    With ``unique`` (a column), repeats of a value within the watermark are counted once.
    """
    watermarked = events.withWatermark("event_ts", watermark)
    if unique:
        watermarked = watermarked.dropDuplicatesWithinWatermark([unique])
    exploded = (
        watermarked.select("*", F.explode(_dimensions()).alias("d"))
        .select("*", F.col("d.dim").alias("dim"), F.col("d.key").alias("key"))
    )
    return _finish(
        exploded.groupBy(F.window("event_ts", window), "app_id", "dim", "key").agg(*_measures())
    )


def transform_active_users(events: DataFrame, window: str = ACTIVE_WINDOW, slide: str = ACTIVE_SLIDE,
                           watermark: str = WATERMARK) -> DataFrame:
    """Count distinct active users per app and page (and `*`) over sliding event-time windows."""
    pages = (
        events.withWatermark("event_ts", watermark)
        .select("event_ts", "app_id", "user_id",
                F.explode(F.array(F.col("page"), F.lit(ALL))).alias("page"))
    )
    return (
        pages.groupBy(F.window("event_ts", window, slide), "app_id", "page")
        .agg(F.size(F.collect_set("user_id")).alias("active_users"))
        .select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"),
                "app_id", "page", "active_users",
                F.date_format("window.start", "yyyy-MM-dd").alias("dt"))
    )
