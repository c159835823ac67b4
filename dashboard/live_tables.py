"""The Live page's reads through HiveServer2: the navigation paths, the active users and the alerts of the
live tables (its per-minute windows come from the store: dashboard/live_store.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from dashboard.filters import quoted
from dashboard.hive_session import live_query

# --- The Live page ----------------------------------------------------------------------------


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _hours_from(moment: datetime, until: datetime) -> str:
    """The hour partitions (dt, hr) from a moment's hour to another's: what a read lists, not the day's."""
    first, last = moment.strftime("%Y-%m-%d"), until.strftime("%Y-%m-%d")
    return (f"dt BETWEEN '{first}' AND '{last}' "
            f"AND (dt > '{first}' OR hr >= {moment.hour}) AND (dt < '{last}' OR hr <= {until.hour})")


def live_paths(apps: tuple[str, ...], newest: datetime, recent: timedelta) -> pd.DataFrame:
    """Per app and previous → current → next page: how often, and the average dwell on the current page,
    for the page views of the last ``recent`` up to the newest minute's end (live_paths)."""
    since, end = newest - recent + timedelta(minutes=1), newest + timedelta(minutes=1)
    return live_query(f"""
        SELECT app_id, prev_page, page, next_page, count(*) AS occurrences, avg(dwell_ms) / 1000 AS dwell_s
        FROM live_paths
        WHERE {_hours_from(since, end)} AND app_id IN ({quoted(apps)})
          AND page_ts >= '{_ts(since)}' AND page_ts < '{_ts(end)}'
        GROUP BY app_id, prev_page, page, next_page""")


def live_active_users(apps: tuple[str, ...], newest: datetime, history: timedelta) -> pd.DataFrame:
    """Active users (last 5 minutes) per app and page at the newest minute's end; page '*' is the site."""
    return live_query(f"""
        SELECT app_id, page, active_users FROM live_active_users_latest
        WHERE {_hours_from(newest - history, newest)} AND app_id IN ({quoted(apps)})
          AND window_end = '{_ts(newest + timedelta(minutes=1))}'
        ORDER BY active_users DESC, app_id, page""")


def live_alerts(apps: tuple[str, ...], newest: datetime) -> pd.DataFrame:
    """The newest 50 alerts of the day before the newest minute and after (live_alerts)."""
    return live_query(f"""
        SELECT cast(window_start AS STRING) AS minute, app_id, kind, severity, subject, message
        FROM live_alerts WHERE dt >= '{newest - timedelta(days=1):%Y-%m-%d}' AND app_id IN ({quoted(apps)})
        ORDER BY window_start DESC, kind LIMIT 50""")
