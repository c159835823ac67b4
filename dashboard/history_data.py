"""The loaders of the History pages and the Daily report: the daily and hourly tables, and the report_*
tables the daily DAG's HiveQL writes.

Pages hold no SQL: each calls a loader named for what it shows, with the sidebar's ``Filters``.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard.filters import Filters, quoted
from dashboard.hive_session import BATCH_TTL, batch_query, query


@st.cache_data(ttl=BATCH_TTL, show_spinner=False)
def available_days() -> tuple[date, date] | None:
    """Return the first and last day the daily tables hold, or None before the first daily run."""
    df = query("SHOW PARTITIONS daily_summary")
    if df.empty:
        return None
    days = sorted(date.fromisoformat(p.split("=", 1)[1]) for p in df.iloc[:, 0])
    return days[0], days[-1]


@st.cache_data(ttl=BATCH_TTL, show_spinner=False)
def daily_page_traffic(apps: tuple[str, ...], first: str, last: str) -> pd.DataFrame:
    """Return page views, user-days, entrances and exits per app and page over these days.

    One query serves both the sidebar's page list and the Traffic page's table.
    """
    return query(f"SELECT app_id, page, sum(page_views) AS page_views, sum(unique_users) AS user_days, "
                f"sum(entrances) AS entrances, sum(exits) AS exits FROM daily_pages "
                f"WHERE dt BETWEEN '{first}' AND '{last}' AND app_id IN ({quoted(apps)}) "
                "GROUP BY app_id, page")


def pages_of(apps: tuple[str, ...], first: str, last: str) -> list[str]:
    """Return the pages seen in the daily tables for these apps and days, most viewed first."""
    views = daily_page_traffic(apps, first, last).groupby("page")["page_views"].sum()
    return sorted(views.index, key=lambda page: (-views[page], page))


# --- The History pages (daily and hourly tables) --------------------------------------------

def daily_totals(f: Filters) -> pd.DataFrame:
    """Per day and app: events, page views, users, sessions, bot events (daily_summary)."""
    return batch_query(f"""
        SELECT dt AS day, app_id, events, page_views, unique_users, sessions, bot_events
        FROM daily_summary WHERE {f.where()} ORDER BY day, app_id""")


def hourly_traffic(f: Filters) -> pd.DataFrame:
    """Per hour and app: page views and page-user-hours (hourly_pages; the page filter applies)."""
    return batch_query(f"""
        SELECT concat(dt, ' ', lpad(cast(hr AS STRING), 2, '0'), ':00') AS hour, app_id,
               sum(page_views) AS page_views, sum(unique_users) AS page_user_hours
        FROM hourly_pages WHERE {f.where(page_column='page')}
        GROUP BY dt, hr, app_id ORDER BY hour, app_id""")


def peak_hours(f: Filters) -> pd.DataFrame:
    """Per app and hour of day: page views and the days it was a top-3 hour (daily_hours)."""
    return batch_query(f"""
        SELECT app_id, hr AS hour, sum(page_views) AS page_views,
               sum(CASE WHEN is_peak THEN 1 ELSE 0 END) AS days_in_top_3
        FROM daily_hours WHERE {f.where()} GROUP BY app_id, hr ORDER BY app_id, hour""")


def section_engagement(f: Filters) -> pd.DataFrame:
    """Per app, page and section: interactions by kind, button clicks, user-days, and the average time in
    view in seconds over the section-leave beacons (``timed_views``) (daily_sections).

    Several days' averages are weighed by their beacons, so the result is the average of every beacon.
    """
    return batch_query(f"""
        SELECT app_id, page, section, sum(interactions) AS interactions, sum(section_views) AS views,
               sum(section_clicks) AS clicks, sum(section_scrolls) AS scrolls, sum(section_hovers) AS hovers,
               sum(button_clicks) AS button_clicks, sum(unique_users) AS user_days,
               sum(section_leaves) AS timed_views,
               sum(time_in_view_avg_ms * section_leaves) / sum(section_leaves) / 1000 AS time_in_view_s
        FROM daily_sections WHERE {f.where(page_column='page')}
        GROUP BY app_id, page, section""")


def top_paths(f: Filters) -> pd.DataFrame:
    """Per app and 3-page path: occurrences and sessions (daily_paths)."""
    return batch_query(f"""
        SELECT app_id, step1, step2, step3, sum(occurrences) AS occurrences, sum(sessions) AS sessions
        FROM daily_paths WHERE {f.where()}
        GROUP BY app_id, step1, step2, step3""")


def funnel_steps(f: Filters) -> pd.DataFrame:
    """Per app, funnel and step: users who reached it and the drop-off (daily_funnels)."""
    return batch_query(f"""
        SELECT app_id, funnel, step, step_name, sum(users) AS users, sum(drop_off) AS drop_off
        FROM daily_funnels WHERE {f.where()}
        GROUP BY app_id, funnel, step, step_name ORDER BY app_id, funnel, step""")


def cities(f: Filters) -> pd.DataFrame:
    """Per country and city: user-days, sessions, page views, events, event-weighted position."""
    return batch_query(f"""
        SELECT country, city, sum(unique_users) AS user_days, sum(sessions) AS sessions,
               sum(page_views) AS page_views, sum(events) AS events,
               sum(latitude * events) / sum(events) AS latitude,
               sum(longitude * events) / sum(events) AS longitude
        FROM daily_geo WHERE {f.where()} AND country <> '??'
        GROUP BY country, city ORDER BY sessions DESC, country, city""")


def performance_summary(f: Filters) -> pd.DataFrame:
    """Per app: errors, page views, p95 at peak and off-peak hours and their ratio (daily_summary)."""
    return batch_query(f"""
        SELECT app_id, sum(errors) AS errors, sum(page_views) AS page_views,
               avg(peak_response_p95_ms) AS peak_p95_ms, avg(offpeak_response_p95_ms) AS offpeak_p95_ms,
               avg(peak_slowdown) AS peak_slowdown
        FROM daily_summary WHERE {f.where()} GROUP BY app_id ORDER BY app_id""")


def page_performance(f: Filters) -> pd.DataFrame:
    """Per hour, app and page with views: response p50/p95, errors, error rate (hourly_pages)."""
    return batch_query(f"""
        SELECT concat(dt, ' ', lpad(cast(hr AS STRING), 2, '0'), ':00') AS hour, app_id, page, page_views,
               response_p50_ms, response_p95_ms, errors, error_rate
        FROM hourly_pages WHERE {f.where(page_column='page')} AND page_views > 0""")


def hour_profiles(f: Filters) -> pd.DataFrame:
    """Per day, app and hour: page views, response p50/p95, error rate, whether a peak hour."""
    return batch_query(f"""
        SELECT dt AS day, app_id, hr AS hour, page_views, response_p50_ms, response_p95_ms, error_rate,
               is_peak
        FROM daily_hours WHERE {f.where()} ORDER BY day, app_id, hour""")


def session_summary(f: Filters) -> pd.DataFrame:
    """One row: sessions, their average duration, pages per session, bounce rate, new/returning users."""
    return batch_query(f"""
        SELECT sum(sessions) AS sessions, sum(avg_session_s * sessions) / sum(sessions) AS avg_session_s,
               sum(pages_per_session * sessions) / sum(sessions) AS pages_per_session,
               sum(bounce_rate * sessions) / sum(sessions) AS bounce_rate,
               sum(new_users) AS new_users, sum(returning_users) AS returning_users
        FROM daily_summary WHERE {f.where()}""")


def session_durations(f: Filters, bounds: tuple[int, ...]) -> pd.DataFrame:
    """Sessions per duration bucket: bucket i holds durations below bounds[i]; the last, the rest."""
    case = " ".join(f"WHEN duration_s < {bound} THEN {i}" for i, bound in enumerate(bounds))
    return batch_query(f"""
        SELECT CASE {case} ELSE {len(bounds)} END AS bucket, count(*) AS sessions
        FROM sessions WHERE {f.where()} GROUP BY 1 ORDER BY 1""")


def pages_per_session(f: Filters, most: int) -> pd.DataFrame:
    """Sessions per number of page views, the last count (``most``) standing for that many or more."""
    return batch_query(f"""
        SELECT least(page_views, {int(most)}) AS pages, count(*) AS sessions
        FROM sessions WHERE {f.where()} GROUP BY 1 ORDER BY 1""")


def new_and_returning(f: Filters) -> pd.DataFrame:
    """Per day: new and returning users (daily_summary)."""
    return batch_query(f"""
        SELECT dt AS day, sum(new_users) AS new_users, sum(returning_users) AS returning_users
        FROM daily_summary WHERE {f.where()} GROUP BY dt ORDER BY dt""")


def channels(f: Filters) -> pd.DataFrame:
    """Per channel: sessions, bounce rate, conversions, revenue (daily_channels)."""
    return batch_query(f"""
        SELECT channel, sum(sessions) AS sessions,
               sum(bounce_rate * sessions) / sum(sessions) AS bounce_rate,
               sum(conversions) AS conversions, sum(revenue) AS revenue
        FROM daily_channels WHERE {f.where()} GROUP BY channel ORDER BY sessions DESC, channel""")


def page_time(f: Filters) -> pd.DataFrame:
    """Per app and page: page views and the average time on page (daily_pages; the page filter applies).

    The average over several days weighs each day's by its page-leave beacons, so the result is the
    average of every beacon.
    """
    return batch_query(f"""
        SELECT app_id, page, sum(page_views) AS page_views, sum(page_leaves) AS page_leaves,
               sum(time_on_page_avg_ms * page_leaves) / sum(page_leaves) / 1000 AS time_on_page_s
        FROM daily_pages WHERE {f.where(page_column='page')} GROUP BY app_id, page""")


def devices(f: Filters) -> pd.DataFrame:
    """Per app, device type and browser: sessions, user-days, average session duration (daily_devices)."""
    return batch_query(f"""
        SELECT app_id, device_type, browser, sum(sessions) AS sessions, sum(unique_users) AS user_days,
               sum(avg_duration_s * sessions) / sum(sessions) AS avg_session_s
        FROM daily_devices WHERE {f.where()} GROUP BY app_id, device_type, browser""")


def operating_systems(f: Filters) -> pd.DataFrame:
    """Per app and operating system: sessions and users (the sessions table: daily_devices has no OS)."""
    return batch_query(f"""
        SELECT app_id, os, count(*) AS sessions, count(DISTINCT user_id) AS users
        FROM sessions WHERE {f.where()} GROUP BY app_id, os""")


# --- The Daily report page (the report_* tables the daily DAG's HiveQL writes) -----------------

def report_sentences(f: Filters) -> pd.DataFrame:
    """Per day and app, the report sentences in reading order: the sessions, the headlines (less the two
    the other reports state), the three most visited pages, the most engaged section, the hour with the
    most errors."""
    return batch_query(f"""
        SELECT day, app_id, topic, headline FROM (
          SELECT dt AS day, app_id, 0 AS part, 0 AS n, 'sessions' AS topic, headline
          FROM report_sessions WHERE {f.where()}
          UNION ALL
          SELECT dt, app_id, 1, row_number() OVER (PARTITION BY dt, app_id ORDER BY metric), metric, headline
          FROM report_headlines WHERE {f.where()}
            -- stated by report_sessions and report_page_traffic, in their own sentences
            AND metric NOT IN ('avg_session_min', 'top_page_share')
          UNION ALL
          SELECT dt, app_id, 2, n, 'page traffic', headline FROM (
            SELECT dt, app_id, headline,
                   row_number() OVER (PARTITION BY dt, app_id ORDER BY page_views DESC, page) AS n
            FROM report_page_traffic WHERE {f.where()}) p WHERE n <= 3
          UNION ALL
          SELECT dt, app_id, 3, rank_in_app, 'section engagement', headline
          FROM report_section_engagement WHERE {f.where()} AND rank_in_app = 1
          UNION ALL
          SELECT dt, app_id, 4, n, 'errors', headline FROM (
            SELECT dt, app_id, headline,
                   row_number() OVER (PARTITION BY dt, app_id ORDER BY error_pct DESC, errors DESC, hr) AS n
            FROM report_errors WHERE {f.where()} AND errors > 0) e WHERE n = 1
        ) r ORDER BY day DESC, app_id, part, n""")


def report_totals(f: Filters) -> pd.DataFrame:
    """Per day and app: sessions, page views and errors as the reports state them."""
    return batch_query(f"""
        SELECT s.dt AS day, s.app_id, s.sessions, p.page_views, e.errors
        FROM report_sessions s
        LEFT JOIN (SELECT dt, app_id, sum(page_views) AS page_views FROM report_page_traffic
                   WHERE {f.where()} GROUP BY dt, app_id) p ON p.dt = s.dt AND p.app_id = s.app_id
        LEFT JOIN (SELECT dt, app_id, sum(errors) AS errors FROM report_errors
                   WHERE {f.where()} GROUP BY dt, app_id) e ON e.dt = s.dt AND e.app_id = s.app_id
        WHERE {f.where(alias='s')} ORDER BY day, app_id""")
