"""The batch jobs: what one run of the hourly or daily Spark job computes and writes.

The files in include/spark_jobs are their mains (arguments, the Spark session); the transforms they
compose live in ``hourly``, ``daily``, ``sessions`` and ``funnels``; reading and writing the warehouse
in ``io``.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clickstream import catalog
from clickstream.batch.daily import (
    place_slots,
    response_histogram,
    transform_channels,
    transform_daily_pages,
    transform_daily_sections,
    transform_devices,
    transform_geo,
    transform_hours,
    transform_paths,
    transform_summary,
)
from clickstream.batch.funnels import transform_funnels
from clickstream.batch.hourly import transform_hourly_pages, transform_hourly_sections
from clickstream.batch.io import (
    day_window,
    hours_between,
    overwrite_partition,
    overwrite_partitions,
    read_raw_hours,
)
from clickstream.batch.sessions import (
    assign_sessions,
    combine_slots,
    session_starts,
    session_visits,
    transform_sessions,
)
from clickstream.funnels import FUNNELS
from clickstream.settings import Settings

log = logging.getLogger("clickstream.batch")

# The columns of raw_events the daily tables read: the rest is never carried through the sort.
INPUT_COLUMNS = ("app_id", "event_id", "event_type", "event_ts", "user_id", "visit_number", "page", "section",
                 "element", "time_on_page_ms", "response_time_ms", "http_status", "referrer", "utm_medium",
                 "country", "city", "latitude", "longitude", "device_type", "browser", "os", "is_bot",
                 "value")


HOUR_KEYS = ("dt", "hr")  # raw_events' partition columns: an hour's events
HOURLY_TRANSFORMS = {"hourly_pages": transform_hourly_pages, "hourly_sections": transform_hourly_sections}


def run_hours(spark: SparkSession, settings: Settings, start: datetime, end: datetime) -> None:
    """Compute and overwrite the partition of every hourly table for each hour in [start, end).

    The hours are computed together, grouped by hour as well, and written in one job per table that
    replaces exactly the hours it writes: a catch-up or a backfill over many hours costs about what one
    hour costs, not one set of Spark jobs per hour. An hour with no rows in a table gets an empty
    partition, as a rerun of a quiet hour must replace what was there.
    """
    hours = hours_between(start, end)
    if not hours:
        return
    events = read_raw_hours(spark, settings, hours).cache()
    for table in catalog.names(catalog.HOURLY):
        sort_key = catalog.table(table).sort_key
        written = HOURLY_TRANSFORMS[table](events, by=HOUR_KEYS).cache()
        present = overwrite_partitions(written, settings, table, sort_key, HOUR_KEYS)
        empty = written.drop(*HOUR_KEYS).limit(0)
        for hour in hours:
            if (f"{hour:%Y-%m-%d}", hour.hour) not in present:
                overwrite_partition(empty, settings, table, sort_key, dt=f"{hour:%Y-%m-%d}", hr=hour.hour)
        written.unpersist()
    log.info("%d hours from %s: %d events", len(hours), f"{hours[0]:%Y-%m-%d %H}:00",
             events.count())
    events.unpersist()


def transform_day(events: DataFrame, day: date, *, funnel_window_s: int, top_paths: int
                  ) -> dict[str, DataFrame]:  # fmt: skip
    """Return every daily table of day from the events of the day and its spill margin."""
    events = events.select(*INPUT_COLUMNS)
    # What several tables read is small and cached: the slots per place (one pass over the events for
    # the sessions and the geography) and combined, the start times, the visits, the sessions, the
    # response-time histogram and the hours. The events are not cached: each table reads only its own
    # columns of the Parquet files, which is faster than a cache of every column (see docs/batch.md).
    places = place_slots(events).persist(StorageLevel.MEMORY_AND_DISK)
    slots = combine_slots(places).persist(StorageLevel.MEMORY_AND_DISK)
    starts = session_starts(slots).persist(StorageLevel.MEMORY_AND_DISK)
    of_day = events.where(F.to_date("event_ts") == F.lit(day))
    visits = session_visits(assign_sessions(events, starts), day).persist(StorageLevel.MEMORY_AND_DISK)
    sessions = transform_sessions(events, day, slots=slots, starts=starts, visits=visits).persist(
        StorageLevel.MEMORY_AND_DISK)
    # Slots never cross an hour: the day's are those that start on it.
    day_slots = slots.where(F.to_date("first") == F.lit(day))
    day_places = places.where(F.to_date("first") == F.lit(day))
    responses = response_histogram(of_day).cache()
    hours = transform_hours(of_day, slots=day_slots, responses=responses).cache()
    return {
        "sessions": sessions,
        "daily_pages": transform_daily_pages(of_day, sessions),
        "daily_sections": transform_daily_sections(of_day),
        "daily_paths": transform_paths(visits, top_paths),
        "daily_funnels": transform_funnels(of_day, list(FUNNELS), funnel_window_s),
        "daily_geo": transform_geo(of_day, starts, places=day_places),
        "daily_channels": transform_channels(sessions),
        "daily_devices": transform_devices(sessions),
        "daily_hours": hours,
        "daily_summary": transform_summary(of_day, sessions, hours, slots=day_slots, responses=responses),
    }


def run_day(spark: SparkSession, settings: Settings, day: date, *, spill_hours: int = 1,
            funnel_window_s: int = 3600, top_paths: int = 10, parallel_tables: int = 3) -> dict[str, str]:
    """Compute and overwrite the day's partition of every daily table; return their paths.

    parallel_tables tables are written at once, each by a Spark job of its own thread. A failed table
    fails the run after the others are written (each write replaces its partition: a retry redoes all).
    """
    start, end = day_window(day, timedelta(hours=spill_hours))
    events = read_raw_hours(spark, settings, hours_between(start, end))
    tables = transform_day(events, day, funnel_window_s=funnel_window_s, top_paths=top_paths)

    def write(table: str) -> str:
        path = overwrite_partition(tables[table], settings, table, catalog.table(table).sort_key,
                                   dt=day.isoformat())
        log.info("%s: wrote dt=%s", table, day)
        return path

    # In the catalog's order: the tables that take longest start first.
    daily = catalog.names(catalog.DAILY)
    with ThreadPoolExecutor(max_workers=max(1, parallel_tables), thread_name_prefix="daily") as pool:
        return dict(zip(daily, pool.map(write, daily), strict=True))
