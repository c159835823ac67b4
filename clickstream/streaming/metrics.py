"""Live metrics as mergeable per-batch partials: 1-minute windows per app and breakdown, active users.

Each micro-batch turns its (de-duplicated) valid events into *partials*: one row per (window, app,
dimension, key) it touched, with counts and sums, HyperLogLog sketches of the users and viewers and
KLL sketches of the dwell and response times (Apache DataSketches, Spark's ``hll_*`` and ``kll_*``
functions). Each event is fanned out to the dimensions it belongs to — the app as a whole
(``app``/``*``), its ``page``, its ``section`` (``page|section``), its ``device`` type, its ``browser``,
its ``os``, its ``country`` and, for page views, its ``transition`` (``prev -> page``).

A window's value is the merge of its partials (``merge`` and ``finish`` for a DataFrame, ``metrics_sql``
for the ``live_metrics_latest`` view the Live page reads): counts add up, sketches union. Merging is
associative, so a replayed batch, which rewrites its own partials, gives the same result, and no state
is kept per user between batches (docs/streaming.md, "Live measures that merge").

Error bounds (docs/streaming.md): counts, sums and averages are exact. Users come from HLL sketches
(lgConfigK 12): exact in practice below a few hundred users, a relative standard error of 1.6 %
above. Percentiles come from KLL sketches (k 200): exact, nearest rank, up to 200 values in a window,
within 1.3 % of rank above.

Late data: every archived event counts, however late; a window keeps changing as late events arrive,
and equals what ``raw_events`` holds for it.

Active users are distinct users over 5-minute windows sliding by a minute, per app and page (and
``*``, the whole site): each minute's sketch of a batch goes into the five windows it falls in.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clickstream.streaming.columns import built_once

WINDOW = "1 minute"
ACTIVE_MINUTES = 5
ALL = "*"

INTERACTIONS = ("section_view", "section_click", "section_scroll", "section_hover", "button_click")
COUNTED = ("page_view", *INTERACTIONS, "add_to_cart", "purchase")
LEAVE_BEACON = "page_leave"  # simulators.journey.LEAVE_BEACON: the ping with the whole dwell time
SECTION_LEAVE = "section_leave"  # simulators.journey.SECTION_LEAVE: the ping with a section's time in view

# event_type -> its count column
COUNT_COLUMNS = {t: "add_to_cart" if t == "add_to_cart" else f"{t}s" for t in COUNTED}

DIMENSIONS = ("app", "page", "section", "device", "browser", "os", "country", "transition")
KEYS = ("window_start", "window_end", "app_id", "dim", "key")

# The partials' additive columns, and their sketches: (column, how two of them merge). The KLL sketches
# hold doubles: the driver's Python merges them too (clickstream/streaming/recent.py), and the DataSketches
# library for Python reads a KLL sketch of doubles, not one of longs. The columns before them,
# dwell_sketch and response_sketch (KLL of longs), are left in the table of an upgraded data directory.
SUMMED = ("events", *COUNT_COLUMNS.values(), "bot_events", "page_leaves", "dwell_sum_ms", "responses",
          "errors")
SKETCHES = {
    "users_sketch": "hll_union_agg", "viewers_sketch": "hll_union_agg",
    "dwell_ms_sketch": "kll_merge_agg_double", "response_ms_sketch": "kll_merge_agg_double",
}
HLL_LG_K = 12  # Spark's default for hll_sketch_agg and hll_union_agg
KLL_K = 200    # Spark's default for kll_sketch_agg_double
# The finished quantiles: name -> (sketch, rank).
QUANTILES = {
    "time_on_page_p50_ms": ("dwell_ms_sketch", 0.5), "time_on_page_p95_ms": ("dwell_ms_sketch", 0.95),
    "response_p50_ms": ("response_ms_sketch", 0.5), "response_p95_ms": ("response_ms_sketch", 0.95),
}


@built_once
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


@built_once
def _partials() -> list[Column]:
    """Return the aggregate columns of one (window, app, dim, key) group of a batch."""
    is_type = {t: F.col("event_type") == t for t in COUNTED}
    leave = (F.col("event_type") == "engagement_ping") & (F.col("element") == LEAVE_BEACON)
    dwell = F.when(leave, F.col("time_on_page_ms"))
    response = F.when(is_type["page_view"], F.col("response_time_ms"))
    return [
        F.count(F.lit(1)).alias("events"),
        *[_count_if(cond).alias(COUNT_COLUMNS[t]) for t, cond in is_type.items()],
        _count_if(F.col("is_bot")).alias("bot_events"),
        F.count(dwell).alias("page_leaves"),
        F.coalesce(F.sum(dwell), F.lit(0)).alias("dwell_sum_ms"),
        F.count(response).alias("responses"),
        _count_if(is_type["page_view"] & (F.col("http_status") >= 500)).alias("errors"),
        F.hll_sketch_agg("user_id").alias("users_sketch"),
        F.hll_sketch_agg(F.when(is_type["page_view"], F.col("user_id"))).alias("viewers_sketch"),
        F.kll_sketch_agg_double(dwell.cast("double")).alias("dwell_ms_sketch"),
        F.kll_sketch_agg_double(response.cast("double")).alias("response_ms_sketch"),
    ]


@built_once
def _part_columns() -> tuple[list[Column], list[Column], list[Column]]:
    """Return the columns of metric_parts: its events fanned out, its groups, its output."""
    fanned = [F.col("*"), F.inline(_dimensions())]
    groups = [F.window("event_ts", WINDOW), F.col("app_id"), F.col("dim"), F.col("key")]
    output = [F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"),
              *[F.col(c) for c in ("app_id", "dim", "key", *SUMMED, *SKETCHES)],
              F.date_format("window.start", "yyyy-MM-dd").alias("dt"), F.hour("window.start").alias("hr")]
    return fanned, groups, output


def metric_parts(events: DataFrame) -> DataFrame:
    """Return a batch's partials per 1-minute event-time window, app and dimension (see module doc)."""
    fanned, groups, output = _part_columns()
    return events.select(*fanned).groupBy(*groups).agg(*_partials()).select(*output)


def merged_sql() -> list[str]:
    """Return the SQL aggregates merging partials (grouped by their keys and dt)."""
    return [f"sum({c}) AS {c}" for c in SUMMED] + [f"{merge}({c}) AS {c}" for c, merge in SKETCHES.items()]


def _quantile(sketch: str, rank: float) -> str:
    # An empty sketch (no value in the window, or only partials written before the column) has no
    # quantile: Spark raises rather than return null.
    return (f"CASE WHEN kll_sketch_get_n_double({sketch}) > 0 "
            f"THEN kll_sketch_get_quantile_double({sketch}, {rank}) END")


def finished_sql() -> list[str]:
    """Return the SQL columns of a window's metrics from its merged partials (the old table's columns)."""
    counts = [c for c in SUMMED if c not in ("dwell_sum_ms",)]
    return [
        *KEYS, *counts[:counts.index("bot_events")],
        "hll_sketch_estimate(users_sketch) AS users", "hll_sketch_estimate(viewers_sketch) AS viewers",
        "bot_events", "page_leaves",
        "CASE WHEN page_leaves > 0 THEN dwell_sum_ms / page_leaves END AS time_on_page_avg_ms",
        "responses", "errors",
        *[f"{_quantile(sketch, rank)} AS {name}" for name, (sketch, rank) in QUANTILES.items()],
        "CASE WHEN responses > 0 THEN errors / responses END AS error_rate",
        "dt",
    ]


@built_once
def _merged() -> list[Column]:
    return [F.expr(e) for e in merged_sql()]


def merge(parts: DataFrame, *more: Column) -> DataFrame:
    """Merge partials into one row per window, app and dimension, still partials (mergeable again).

    ``more``: further aggregates over the same groups.
    """
    return parts.groupBy(*KEYS, "dt").agg(*_merged(), *more)


def finish(merged: DataFrame) -> DataFrame:
    """Return the metrics of merged partials."""
    return merged.selectExpr(*finished_sql())


def metrics_sql(parts: str) -> str:
    """Return the query of each window's metrics from a table of partials: its partials, merged."""
    group = ", ".join((*KEYS, "dt"))
    return (f"SELECT {', '.join(finished_sql())} FROM "
            f"(SELECT {group}, {', '.join(merged_sql())} FROM {parts} GROUP BY {group}) m")


@built_once
def _active_columns() -> dict[str, list[Column]]:
    """Return the columns of active_user_parts (built once: see clickstream/streaming/columns.py)."""
    minute = F.col("minute")
    first = minute - F.expr(f"INTERVAL {ACTIVE_MINUTES - 1} MINUTES")
    return {
        "fanned": [F.date_trunc("minute", "event_ts").alias("minute"), F.col("app_id"), F.col("user_id"),
                   F.explode(F.array(F.col("page"), F.lit(ALL))).alias("page")],
        "minute_sketch": [F.hll_sketch_agg("user_id").alias("users_sketch")],
        "windows": [F.explode(F.sequence(first, minute, F.expr("INTERVAL 1 MINUTE"))).alias("window_start"),
                    F.col("app_id"), F.col("page"), F.col("users_sketch")],
        "window_sketch": [F.hll_union_agg("users_sketch").alias("users_sketch")],
        "output": [F.col("window_start"),
                   (F.col("window_start") + F.expr(f"INTERVAL {ACTIVE_MINUTES} MINUTES")).alias("window_end"),
                   F.col("app_id"), F.col("page"), F.col("users_sketch"),
                   F.date_format("window_start", "yyyy-MM-dd").alias("dt"),
                   F.hour("window_start").alias("hr")],
    }


def active_user_parts(events: DataFrame) -> DataFrame:
    """Return a batch's HLL sketch of users per 5-minute sliding window (by a minute), app and page.

    A sketch per minute first, then each minute's sketch into the five windows it falls in: the
    events are fanned out twice (the page and the site), not ten times.
    """
    c = _active_columns()
    per_minute = events.select(*c["fanned"]).groupBy("minute", "app_id", "page").agg(*c["minute_sketch"])
    return (per_minute.select(*c["windows"]).groupBy("window_start", "app_id", "page")
            .agg(*c["window_sketch"]).select(*c["output"]))


def active_users_sql(parts: str) -> str:
    """Return the query of active users per sliding window from a table of partials: sketches, merged."""
    return ("SELECT window_start, window_end, app_id, page, "
            f"hll_sketch_estimate(hll_union_agg(users_sketch)) AS active_users, dt, hr "
            f"FROM {parts} GROUP BY window_start, window_end, app_id, page, dt, hr")
