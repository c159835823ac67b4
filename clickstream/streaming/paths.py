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
triples. No state is kept per event, and nothing runs in Python per event.

A page view older than its session's open page (late data) is left out of the live paths; the daily
job's path analysis over ``raw_events`` sees every view.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

SESSION_TIMEOUT = timedelta(minutes=30)
WATERMARK = timedelta(minutes=2)
ENTRANCE, EXIT = "(entrance)", "(exit)"

PATHS_SCHEMA = StructType([
    StructField("app_id", StringType()), StructField("session_id", StringType()),
    StructField("user_id", StringType()), StructField("prev_page", StringType()),
    StructField("page", StringType()), StructField("next_page", StringType()),
    StructField("page_ts", TimestampType()), StructField("next_ts", TimestampType()),
    StructField("dwell_ms", LongType()), StructField("ended_by", StringType()),
    StructField("dt", StringType()),
])  # fmt: skip

OPEN_SCHEMA = StructType([
    StructField("app_id", StringType()), StructField("session_id", StringType()),
    StructField("user_id", StringType()), StructField("prev_page", StringType()),
    StructField("page", StringType()), StructField("page_ts", TimestampType()),
])  # fmt: skip
OPEN_COLUMNS = tuple(f.name for f in OPEN_SCHEMA.fields)


def advance(open_pages: DataFrame, events: DataFrame, newest: datetime) -> DataFrame:
    """Return the sessions' pages after a batch, each with ``_open`` (still open) or a triple to emit.

    open_pages: the open pages the batch before left (OPEN_SCHEMA); events: the batch's valid events;
    newest: the newest event time seen (this batch's or the open pages'), which ends the sessions
    idle for longer than the watermark plus the session timeout.
    """
    views = events.filter(F.col("event_type") == "page_view").select(
        "app_id", "session_id", "user_id", F.lit(None).cast("string").alias("prev_page"), "page",
        F.col("event_ts").alias("page_ts"), F.lit(False).alias("_new_open"), F.lit(True).alias("_new"))
    earlier = open_pages.select(*OPEN_COLUMNS, F.lit(True).alias("_new_open"), F.lit(False).alias("_new"))
    session = Window.partitionBy("app_id", "session_id")
    ordered = session.orderBy("page_ts", "_new")  # on a tie the open page goes first
    timeout = F.expr(f"INTERVAL {int(SESSION_TIMEOUT.total_seconds())} SECONDS")
    rows = (
        earlier.unionByName(views)
        # A view older than the session's open page is late: left out.
        .withColumn("_opened", F.max(F.when(~F.col("_new"), F.col("page_ts"))).over(session))
        .filter(~F.col("_new") | F.col("_opened").isNull() | (F.col("page_ts") >= F.col("_opened")))
        .withColumn("_before", F.lag("page").over(ordered))
        .withColumn("_before_ts", F.lag("page_ts").over(ordered))
        .withColumn("_after", F.lead("page").over(ordered))
        .withColumn("next_ts", F.lead("page_ts").over(ordered))
    )
    resumed = F.col("_before").isNotNull() & (F.col("page_ts") - F.col("_before_ts") <= timeout)
    paused = F.col("next_ts").isNotNull() & (F.col("next_ts") - F.col("page_ts") > timeout)
    idle = F.col("next_ts").isNull() & (F.col("page_ts") + timeout < F.lit(newest - WATERMARK))
    ended = F.col("next_ts").isNotNull() & ~paused
    return rows.select(
        "app_id", "session_id", "user_id",
        F.when(~F.col("_new"), F.col("prev_page")).when(resumed, F.col("_before"))
        .otherwise(F.lit(ENTRANCE)).alias("prev_page"),
        "page",
        F.when(ended, F.col("_after")).otherwise(F.lit(EXIT)).alias("next_page"),
        "page_ts",
        F.when(ended, F.col("next_ts")).alias("next_ts"),
        F.when(ended, (F.unix_millis("next_ts") - F.unix_millis("page_ts"))).alias("dwell_ms"),
        F.when(ended, F.lit("next")).otherwise(F.lit("timeout")).alias("ended_by"),
        F.date_format("page_ts", "yyyy-MM-dd").alias("dt"),
        (F.col("next_ts").isNull() & ~idle).alias("_open"),
    )


def triples(advanced: DataFrame) -> DataFrame:
    """Return the triples a batch emits (PATHS_SCHEMA)."""
    return advanced.filter(~F.col("_open")).select(*PATHS_SCHEMA.fieldNames())


def still_open(advanced: DataFrame) -> DataFrame:
    """Return the pages still open after a batch (OPEN_SCHEMA)."""
    return advanced.filter(F.col("_open")).select(*OPEN_COLUMNS)
