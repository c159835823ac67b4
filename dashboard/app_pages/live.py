"""Live: the last hour of the live tables, refreshed every 5 seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from clickstream.settings import SITES
from dashboard.data import live_active_users, live_alerts, live_windows, newest_live_minute
from dashboard.ui import ALL, load, no_data, pct, since_text, table

REFRESH_S = 5
HISTORY = timedelta(minutes=60)
STALE = timedelta(minutes=5)
RECENT = timedelta(minutes=15)  # the top pages and sections

st.title("Live")
app = st.sidebar.selectbox("Site", [ALL, *SITES], key="live_app")
APPS = tuple(SITES) if app == ALL else (app,)


def leaders(windows: pd.DataFrame, dim: str, name: str, **totals: tuple[str, str]) -> pd.DataFrame:
    """The 10 (app, key) pairs of one dimension with the largest first total over the windows."""
    rows = windows[windows["dim"] == dim].rename(columns={"key": name})
    ranked = rows.groupby(["app_id", name], as_index=False).agg(**totals)
    first = next(iter(totals))
    return ranked.sort_values([first, "app_id", name], ascending=[False, True, True]).head(10)


@st.fragment(run_every=REFRESH_S)
def live() -> None:
    """Everything on this page, re-run every few seconds without re-running the page."""
    newest = load(newest_live_minute, APPS)
    if newest is None:
        st.info("No live metrics yet. Start the simulation (`clickstream_simulation` DAG) and the "
                "streaming job (`clickstream_streaming`); numbers appear within seconds.",
                icon=":material/hourglass_empty:")
        return
    age = datetime.now(UTC) - newest
    st.caption(f"Newest minute {newest:%Y-%m-%d %H:%M} UTC · refreshes every {REFRESH_S} s")
    if age > STALE:
        st.warning(f"No new events for {since_text(age)}: this is the last state the stream saw. "
                   "Is the simulation running?", icon=":material/schedule:")
    # One round trip for the hour per site and the last 15 minutes per page and per section.
    windows = load(live_windows, APPS, newest, HISTORY, RECENT)
    minutes = (windows[windows["dim"] == "app"].sort_values(["window_start", "app_id"])
               [["window_start", "app_id", "users", "events", "page_views", "errors", "error_rate",
                 "response_p95_ms"]])
    active = load(live_active_users, APPS, newest, HISTORY)

    now = minutes[minutes["window_start"] == minutes["window_start"].max()]
    everyone = active[active["page"] == "*"]["active_users"].sum()
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Active users (5 min)", f"{everyone:,}")
    c2.metric("Events this minute", f"{now['events'].sum():,}")
    c3.metric("Page views this minute", f"{now['page_views'].sum():,}")
    views = now["page_views"].sum()
    c4.metric("Error rate this minute", pct(now["errors"].sum() / views if views else None))

    st.subheader("Users per minute")
    st.altair_chart(
        alt.Chart(minutes).mark_line(point=True).encode(
            x=alt.X("window_start:T", title="minute (UTC)"),
            y=alt.Y("users:Q", title="distinct users"),
            color=alt.Color("app_id:N", title="site"),
            tooltip=["window_start:T", "app_id:N", "users:Q", "events:Q", "page_views:Q"],
        ),
        width="stretch",
    )

    left, right = st.columns(2)
    with left:
        st.subheader("Active users per page right now")
        pages = active[active["page"] != "*"]
        if not no_data(pages, "active users", "They count users seen in the last 5 minutes."):
            top = pages.iloc[0]
            st.markdown(f"**{top['page']}** ({top['app_id']}) currently has "
                        f"**{top['active_users']:,}** active users.")
            st.altair_chart(
                alt.Chart(pages.head(15)).mark_bar().encode(
                    x=alt.X("active_users:Q", title="active users (last 5 minutes)"),
                    y=alt.Y("page:N", sort="-x", title=None),
                    color=alt.Color("app_id:N", title="site"),
                    tooltip=["app_id", "page", "active_users"],
                ),
                width="stretch",
            )
            table(pages, "active users per page")
    with right:
        st.subheader("Top pages and sections (last 15 minutes)")
        table(leaders(windows, "page", "page", page_views=("page_views", "sum"),
                  peak_users_per_min=("users", "max"), worst_p95_ms=("response_p95_ms", "max")),
              "top pages now")
        table(leaders(windows, "section", "page_section", interactions=("interactions", "sum"),
                  button_clicks=("button_clicks", "sum")), "top sections now")

    st.subheader("Alerts")
    alerts = load(live_alerts, APPS, newest)
    if alerts.empty:
        st.success("No alerts in the last day.", icon=":material/check_circle:")
    else:
        table(alerts, "alerts")


live()
