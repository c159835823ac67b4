"""What every page shares: the sidebar filters, friendly failures and empty states, CSV downloads."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import altair as alt
import pandas as pd
import streamlit as st

from clickstream.settings import SITES
from dashboard.errors import DataError, MissingTable
from dashboard.filters import Filters
from dashboard.history_data import available_days, pages_of
from dashboard.hive_session import settings

T = TypeVar("T")
ALL = "All sites"


def load(query: Callable[..., T], *args) -> T:
    """Run a loader; on failure show the reason (never a traceback) and stop the page."""
    try:
        return query(*args)
    except MissingTable as exc:
        st.info(str(exc), icon=":material/hourglass_empty:")
        st.stop()
    except DataError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()


def load_section(query: Callable[..., T], *args) -> T | None:
    """Run the loader of one section; on failure say why there in one line and return None.

    For pages whose sections read different tables: one not created yet leaves the others shown.
    """
    try:
        return query(*args)
    except MissingTable as exc:
        st.info(str(exc), icon=":material/hourglass_empty:")
    except DataError as exc:
        st.error(str(exc), icon=":material/error:")
    return None


def _quiet(query: Callable[..., T], *args) -> T | None:
    """Run a sidebar loader; None when it fails (the page's own sections say why, in the page)."""
    try:
        return query(*args)
    except DataError:
        return None


def sidebar_filters(*, with_page: bool = True) -> Filters:
    """Render the sidebar filters (app, date range, page) and return what is selected.

    The date range defaults to the last seven days the daily tables hold, so the
    pages show data even when the newest day is not today.
    """
    with st.sidebar:
        app = st.selectbox("Site", [ALL, *SITES], key="filter_app")
        apps = tuple(SITES) if app == ALL else (app,)
        span = _quiet(available_days)
        today = datetime.now(UTC).date()
        last = span[1] if span else today
        first = max(span[0], last - timedelta(days=6)) if span else today
        picked = st.date_input("Days (UTC)", value=(first, last), key="filter_days",
                               min_value=span[0] if span else None, max_value=today)
        start, end = (picked if isinstance(picked, tuple) and len(picked) == 2
                      else (picked[0], picked[0]) if isinstance(picked, tuple) else (picked, picked))
        page = None
        if with_page:
            choices = _quiet(pages_of, apps, start.isoformat(), end.isoformat()) or []
            chosen = st.selectbox("Page", ["All pages", *choices], key="filter_page")
            page = None if chosen == "All pages" else chosen
    return Filters(apps=apps, start=start, end=end, page=page)


def no_data(df: pd.DataFrame, what: str, hint: str) -> bool:
    """Show a friendly empty state when df is empty; return whether it was."""
    if df.empty:
        st.info(f"No {what} for this selection yet. {hint}", icon=":material/hourglass_empty:")
        return True
    return False


def daily_hint(batch_start: str) -> str:
    """Say when the daily tables get a day, and when the first one appears (from the batch epoch)."""
    hint = ("The daily DAG (`clickstream_daily`) fills these tables about an hour after each UTC day "
            "ends (it waits for the spill hour of sessions that cross midnight).")
    if batch_start:
        first = datetime.fromisoformat(batch_start).astimezone(UTC)
        hint += (f" Its first run covers {first:%Y-%m-%d} from {first:%H:%M} UTC, when the platform first "
                 f"started, and ends after about 01:10 UTC on {first.date() + timedelta(days=1)}.")
    return hint + " For earlier days, generate and backfill them (docs/batch.md, \"Catch-up and backfill\")."


DAILY_HINT = daily_hint(settings().batch_start)
HOURLY_HINT = "The hourly DAG (`clickstream_hourly`) fills these tables a few minutes after each hour."


def table(df: pd.DataFrame, name: str, **dataframe_args) -> None:
    """Show a table with a CSV download of exactly what is shown."""
    st.dataframe(df, hide_index=True, width="stretch", **dataframe_args)
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    st.download_button(f"Download {name} (CSV)", df.to_csv(index=False).encode(), file_name=f"{slug}.csv",
                       mime="text/csv", key=f"csv_{slug}", icon=":material/download:")


def since_text(age: timedelta) -> str:
    """Say how long ago, in the unit that reads best (seconds up to days)."""
    seconds = max(age.total_seconds(), 0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:.0f} minutes"
    return f"{minutes / 60:.0f} hours" if minutes < 48 * 60 else f"{minutes / 1440:.0f} days"


def pct(value: float | None) -> str:
    """Format a 0-1 share as a percentage."""
    return "–" if value is None or pd.isna(value) else f"{value:.1%}"


def time_on_page_chart(dwell: pd.DataFrame, name: str, count: str) -> None:
    """Chart the pages' average time on page (``time_on_page_s``, the first 20 rows) and table them all;
    ``count``: the column that says how many measurements each average is over."""
    st.altair_chart(
        alt.Chart(dwell.head(20)).mark_bar().encode(
            x=alt.X("time_on_page_s:Q", title="average time on page (s)"),
            y=alt.Y("page:N", sort="-x", title=None), color=alt.Color("app_id:N", title="site"),
            tooltip=["app_id", "page", alt.Tooltip("time_on_page_s:Q", format=".1f"), count]),
        width="stretch")
    table(dwell, name, column_config={
        "time_on_page_s": st.column_config.NumberColumn("time on page (s)", format="%.1f")})
