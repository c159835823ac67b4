"""Hourly aggregates per app and page, and per page section, of one hour of archived events."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from clickstream.batch.common import (
    SECTION_TYPES,
    count_if,
    dwell_ms,
    in_view_ms,
    is_interaction,
    is_page_view,
    is_section_leave,
    response_measures,
    unique_users,
)


def transform_hourly_pages(events: DataFrame, by: Sequence[str] = ()) -> DataFrame:
    """Return per (app, page): views, unique users, interactions, time on page, response times, errors.

    ``by`` groups by more columns first (the hour's ``dt`` and ``hr``, to compute many hours at once).
    """
    keys = [*by, "app_id", "page"]
    pages = events.groupBy(*keys).agg(
        F.count(F.lit(1)).alias("events"),
        count_if(is_page_view()).alias("page_views"),
        count_if(is_interaction()).alias("section_interactions"),
        count_if(F.col("event_type") == "add_to_cart").alias("add_to_cart"),
        F.avg(dwell_ms()).alias("time_on_page_avg_ms"),
        *response_measures(),
    )
    return pages.join(unique_users(events, keys), keys).select(
        *keys, "events", "page_views", "unique_users", "section_interactions", "add_to_cart",
        "time_on_page_avg_ms", "response_p50_ms", "response_p95_ms", "errors", "error_rate")


def transform_hourly_sections(events: DataFrame, by: Sequence[str] = ()) -> DataFrame:
    """Return per (app, page, section): interactions by kind, the users who interacted, and the time in
    view (the section-leave beacons: how many, and their average). ``by`` as for the pages."""
    kinds = [count_if(F.col("event_type") == kind).alias(f"{kind}s")
             for kind in SECTION_TYPES]
    return (
        events.where((is_interaction() | is_section_leave()) & F.col("section").isNotNull())
        .groupBy(*by, "app_id", "page", "section")
        .agg(
            count_if(is_interaction()).alias("interactions"),
            *kinds,
            count_if(F.col("event_type") == "button_click").alias("button_clicks"),
            F.count_distinct(F.when(is_interaction(), F.col("user_id"))).alias("unique_users"),
            F.count(in_view_ms()).alias("section_leaves"),
            F.avg(in_view_ms()).alias("time_in_view_avg_ms"),
        )
    )
