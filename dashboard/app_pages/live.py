"""Live: the last hour of the live tables, refreshed every 2 seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from clickstream.settings import SITES
from dashboard.live_store import live_windows, newest_live_minute
from dashboard.live_tables import live_active_users, live_alerts, live_paths
from dashboard.login import logged_in
from dashboard.ui import ALL, load, load_section, no_data, pct, since_text, table, time_on_page_chart

REFRESH_S = 2
# The error bounds of the live measures (docs/streaming.md, "Live metrics").
BOUNDS = ("Counts exact; users and active users from HyperLogLog sketches (exact below a few hundred, "
          "±1.6 % above); p95 from KLL sketches (nearest rank: exact up to 200 values a minute, ±1.3 % "
          "of rank above).")
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


def page_dwell(windows: pd.DataFrame) -> pd.DataFrame:
    """Per app and page: page leaves and the average time on page over the windows (each window's
    average weighed by its leaves, so the result is the average over every leave)."""
    rows = windows[(windows["dim"] == "page") & (windows["page_leaves"] > 0)].rename(columns={"key": "page"})
    rows = rows.assign(dwell_ms=rows["time_on_page_avg_ms"] * rows["page_leaves"])
    ranked = rows.groupby(["app_id", "page"], as_index=False).agg(page_leaves=("page_leaves", "sum"),
                                                                   dwell_ms=("dwell_ms", "sum"))
    ranked["time_on_page_s"] = ranked["dwell_ms"] / ranked["page_leaves"] / 1000
    return ranked.drop(columns="dwell_ms").sort_values(["page_leaves", "app_id", "page"],
                                                       ascending=[False, True, True])


@st.fragment(run_every=REFRESH_S)
def live() -> None:
    """Everything on this page, re-run every few seconds without re-running the page."""
    if not logged_in():  # a refresh runs this function alone, without the app's login check
        st.rerun()
    newest = load(newest_live_minute, APPS)
    if newest is None:
        st.info("No live metrics yet. Start the simulation (`clickstream_simulation` DAG) and the "
                "streaming job (`clickstream_streaming`); numbers appear within seconds.",
                icon=":material/hourglass_empty:")
        return
    age = datetime.now(UTC) - newest
    st.caption(f"Newest minute {newest:%Y-%m-%d %H:%M} UTC · refreshes every {REFRESH_S} s · {BOUNDS}")
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

    st.subheader("Time on page (last 15 minutes)")
    dwell = page_dwell(windows)
    if not no_data(dwell, "page leaves", "Time on page is measured when a visitor leaves a page."):
        leaves = dwell["page_leaves"].sum()
        overall = (dwell["time_on_page_s"] * dwell["page_leaves"]).sum() / leaves
        st.markdown(f"Visitors stayed **{overall:.1f} s** on a page on average ({leaves:,} pages left).")
        time_on_page_chart(dwell, "time on page now", "page_leaves")

    left, right = st.columns(2)
    with left:
        st.subheader("Page transitions (last 15 minutes)")
        table(leaders(windows, "transition", "transition", page_views=("page_views", "sum")),
              "page transitions now")
        st.subheader("Devices (last 15 minutes)")
        by_device = leaders(windows, "device", "device_type", events=("events", "sum"),
                            page_views=("page_views", "sum"))
        if not no_data(by_device, "device counts", "They appear with the first events."):
            st.altair_chart(alt.Chart(by_device).mark_bar().encode(
                x=alt.X("events:Q", title="events"), y=alt.Y("device_type:N", sort="-x", title=None),
                color=alt.Color("app_id:N", title="site"), tooltip=["app_id", "device_type", "events",
                                                                   "page_views"]), width="stretch")
            table(by_device, "devices now")
    with right:
        st.subheader("Previous → current → next page (last 15 minutes)")
        paths = load_section(live_paths, APPS, newest, RECENT)
        if paths is not None and not no_data(
                paths, "navigation paths", "A page's path is known once the visitor's next page view "
                "arrives, or 30 minutes after the last one (then its next page is \"(exit)\")."):
            paths = paths.sort_values(["occurrences", "app_id", "prev_page", "page", "next_page"],
                                      ascending=[False, True, True, True, True])
            top = paths.iloc[0]
            st.markdown(f"Most frequent: **{top['prev_page']} → {top['page']} → {top['next_page']}** "
                        f"({top['app_id']}, {top['occurrences']:,} times).")
            table(paths.head(20), "paths now", column_config={
                "dwell_s": st.column_config.NumberColumn("time on page (s)", format="%.1f")})

    st.subheader("Browsers and operating systems (last 15 minutes)")
    counts = {"events": ("events", "sum"), "page_views": ("page_views", "sum")}
    browsers = leaders(windows, "browser", "browser", **counts)
    systems = leaders(windows, "os", "os", **counts)
    if not no_data(browsers, "browser counts", "They appear with the first events."):
        left, right = st.columns(2)
        with left:
            table(browsers, "browsers now")
        with right:
            table(systems, "operating systems now")

    st.subheader("Alerts")
    alerts = load(live_alerts, APPS, newest)
    if alerts.empty:
        st.success("No alerts in the last day.", icon=":material/check_circle:")
    else:
        table(alerts, "alerts")


live()
