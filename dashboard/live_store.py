"""The Live page's reads of the recent windows, from their store in PostgreSQL (not HiveServer2).

The streaming application upserts each window's finished values as batches touch it
(clickstream/streaming/live_store.py; docs/decisions/live-read-path.md): an indexed read takes
milliseconds and does not grow with the day's micro-batches, where the Hive view merges every partial
file of the day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from clickstream.secrets import read_secret
from clickstream.settings import get_settings
from clickstream.streaming.live_store import PASSWORD_VAR, TABLE, table
from dashboard.errors import DataError, MissingTable

LIVE_TTL = 1.5  # seconds: the live page refreshes every 2 s
BREAKDOWNS = ("page", "section", "transition", "device", "browser", "os")


class StoreUnavailable(DataError):
    """The store does not answer; the message is fit to show to the user."""


def _table() -> str:
    return table(get_settings().hive_database)


def _query(sql: str, params: tuple) -> pd.DataFrame:
    import psycopg2

    url = get_settings().live_store_url
    try:
        conn = psycopg2.connect(url, password=read_secret(PASSWORD_VAR), connect_timeout=5)
    except psycopg2.Error as exc:
        raise StoreUnavailable(f"Cannot reach the live store at {url} ({str(exc).strip()}). "
                               "Is the stack running? `make status` shows it.") from exc
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(sql, params)
            except psycopg2.errors.UndefinedTable as exc:  # a fresh stack: said as every page says it
                raise MissingTable(
                    f"Table `{TABLE}` of the live store does not exist yet: the streaming application "
                    "creates it when it first starts (the `clickstream_streaming` DAG; `make status` shows "
                    "whether it runs).") from exc
            columns = [d[0] for d in cur.description]
            return pd.DataFrame.from_records(cur.fetchall(), columns=columns)
    finally:
        conn.close()


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def newest_live_minute(apps: tuple[str, ...]) -> datetime | None:
    """Return the start of the newest 1-minute window of these sites (None if there is none)."""
    df = _query(f"SELECT max(window_start) AS newest FROM {_table()} WHERE dim = 'app' AND app_id = ANY(%s)",
                (list(apps),))
    newest = df["newest"].iloc[0] if not df.empty else None
    return None if newest is None or pd.isna(newest) else newest.replace(tzinfo=UTC)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def live_windows(apps: tuple[str, ...], newest: datetime, history: timedelta,
                 recent: timedelta) -> pd.DataFrame:
    """The 1-minute windows: per site over ``history``; per page, section, page transition, device type,
    browser and operating system over ``recent``. Columns and types as the Hive view gave them."""
    since, latest = newest - history, newest - recent + timedelta(minutes=1)
    return _query(f"""
        SELECT to_char(window_start, 'YYYY-MM-DD HH24:MI:SS') AS window_start, app_id, dim, key, users,
               events, page_views, errors, error_rate, response_p95_ms, button_clicks, page_leaves,
               time_on_page_avg_ms, interactions
        FROM {_table()}
        WHERE app_id = ANY(%s) AND window_start >= %s
          AND (dim = 'app' OR (dim = ANY(%s) AND window_start >= %s))""",
                  (list(apps), since.replace(tzinfo=None), list(BREAKDOWNS), latest.replace(tzinfo=None)))
