"""Navigation paths: prev → current → next page triples per session, from each batch and its open pages.

A session's page views are ordered by event time, each joined to the one before and the one after it
(``lag``/``lead`` over the session): a page with a next page view within the session timeout gives its
triple with its dwell time (time to the next view); one followed only after a longer pause gives
``next_page = "(exit)"`` (``ended_by = "timeout"``), and the next view starts the session over with
``prev_page = "(entrance)"``.

The newest page of each session has no next view yet: it stays *open* — a small table of one row per
live session, written with each batch and read by the next — until a later batch brings its next view,
or the newest event time seen passes it by the watermark plus the session timeout, when it ends with
``(exit)``. A replayed batch reads the open pages the batch before it left, so it emits the same
triples. No state is kept per event, and nothing runs in Python per event. The triples and the open
pages are one output (``written``): one job writes both, the open pages in a partition of their own
(``OPEN``) that the application moves aside.

A page view older than its session's open page (late data) is left out of the live paths; the daily
job's path analysis over ``raw_events`` sees every view.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, LongType, StringType, StructField, StructType, TimestampType

from clickstream.streaming.columns import built_once

SESSION_TIMEOUT = timedelta(minutes=30)
WATERMARK = timedelta(minutes=2)
ENTRANCE, EXIT = "(entrance)", "(exit)"
OPEN = "open"  # the partition value of the open pages in ``written``

PATHS_SCHEMA = StructType([
    StructField("app_id", StringType()), StructField("session_id", StringType()),
    StructField("user_id", StringType()), StructField("prev_page", StringType()),
    StructField("page", StringType()), StructField("next_page", StringType()),
    StructField("page_ts", TimestampType()), StructField("next_ts", TimestampType()),
    StructField("dwell_ms", LongType()), StructField("ended_by", StringType()),
    StructField("dt", StringType()), StructField("hr", IntegerType()),
])  # fmt: skip

OPEN_SCHEMA = StructType([
    StructField("app_id", StringType()), StructField("session_id", StringType()),
    StructField("user_id", StringType()), StructField("prev_page", StringType()),
    StructField("page", StringType()), StructField("page_ts", TimestampType()),
])  # fmt: skip
OPEN_COLUMNS = tuple(f.name for f in OPEN_SCHEMA.fields)


@built_once
def _columns() -> dict[str, list[Column]]:
    """Return the column lists of ``advance`` (built once: see clickstream/streaming/columns.py)."""
    views = [F.col(c) for c in ("app_id", "session_id", "user_id")] + [
        F.lit(None).cast("string").alias("prev_page"), F.col("page"), F.col("event_ts").alias("page_ts"),
        F.lit(True).alias("_new")]
    earlier = [*[F.col(c) for c in OPEN_COLUMNS], F.lit(False).alias("_new")]
    session = Window.partitionBy("app_id", "session_id")
    ordered = session.orderBy("page_ts", "_new")  # on a tie the open page goes first
    opened = [F.col("*"), F.max(F.when(~F.col("_new"), F.col("page_ts"))).over(session).alias("_opened")]
    # A view older than the session's open page is late: left out.
    on_time = [~F.col("_new") | F.col("_opened").isNull() | (F.col("page_ts") >= F.col("_opened"))]
    neighbours = [F.col("*"), F.lag("page").over(ordered).alias("_before"),
                  F.lag("page_ts").over(ordered).alias("_before_ts"),
                  F.lead("page").over(ordered).alias("_after"),
                  F.lead("page_ts").over(ordered).alias("next_ts")]
    timeout = F.expr(f"INTERVAL {int(SESSION_TIMEOUT.total_seconds())} SECONDS")
    resumed = F.col("_before").isNotNull() & (F.col("page_ts") - F.col("_before_ts") <= timeout)
    paused = F.col("next_ts").isNotNull() & (F.col("next_ts") - F.col("page_ts") > timeout)
    ended = F.col("next_ts").isNotNull() & ~paused
    output = [
        F.col("app_id"), F.col("session_id"), F.col("user_id"),
        F.when(~F.col("_new"), F.col("prev_page")).when(resumed, F.col("_before"))
        .otherwise(F.lit(ENTRANCE)).alias("prev_page"),
        F.col("page"),
        F.when(ended, F.col("_after")).otherwise(F.lit(EXIT)).alias("next_page"),
        F.col("page_ts"),
        F.when(ended, F.col("next_ts")).alias("next_ts"),
        F.when(ended, (F.unix_millis("next_ts") - F.unix_millis("page_ts"))).alias("dwell_ms"),
        F.when(ended, F.lit("next")).otherwise(F.lit("timeout")).alias("ended_by"),
        F.date_format("page_ts", "yyyy-MM-dd").alias("dt"), F.hour("page_ts").alias("hr"),
    ]
    unfinished = [F.col("next_ts").isNull(), F.col("page_ts") + timeout]
    return {"views": views, "earlier": earlier, "opened": opened, "on_time": on_time,
            "neighbours": neighbours, "output": output, "unfinished": unfinished,
            "page_views": [F.col("event_type") == "page_view"]}


def advance(open_pages: DataFrame, events: DataFrame, newest: datetime) -> DataFrame:
    """Return the sessions' pages after a batch, each with ``_open`` (still open) or a triple to emit.

    open_pages: the open pages the batch before left (OPEN_SCHEMA); events: the batch's valid events;
    newest: the newest event time of the batch, which ends the sessions idle for longer than the
    watermark plus the session timeout.
    """
    c = _columns()
    no_next, timed_out_at = c["unfinished"]
    still = (no_next & (timed_out_at >= F.lit(newest - WATERMARK))).alias("_open")
    views = events.filter(*c["page_views"]).select(*c["views"])
    return (
        open_pages.select(*c["earlier"]).unionByName(views)
        .select(*c["opened"]).filter(*c["on_time"])
        .select(*c["neighbours"])
        .select(*c["output"], still)
    )


@built_once
def _written() -> list[Column]:
    # The open pages: one file, aside (its hour 0: not a partition of the table).
    open_as = {"dt": F.lit(OPEN), "hr": F.lit(0)}
    return [F.when(F.col("_open"), open_as[name]).otherwise(F.col(name)).alias(name) if name in open_as
            else F.col(name) for name in PATHS_SCHEMA.fieldNames()]


def written(advanced: DataFrame) -> DataFrame:
    """Return the triples and the open pages of a batch as one output (PATHS_SCHEMA): the triples by their
    day, the open pages with ``dt = OPEN`` (read back by their OPEN_SCHEMA columns)."""
    return advanced.select(*_written())
