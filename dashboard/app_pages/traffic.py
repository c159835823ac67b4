"""Traffic: most visited pages, share of traffic, time on page, trends by hour and day, peak hours."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard.history_data import daily_page_traffic, daily_totals, hourly_traffic, page_time, peak_hours
from dashboard.ui import (
    DAILY_HINT,
    HOURLY_HINT,
    load,
    no_data,
    pct,
    sidebar_filters,
    table,
    time_on_page_chart,
)

f = sidebar_filters()
st.title("Traffic")
st.caption(f"{', '.join(f.apps)} · {f.start} to {f.end} (UTC)" + (f" · {f.page}" if f.page else ""))

# Each query is a HiveServer2 round trip: the totals come from the per-day rows, and the
# per-page rows are the sidebar's (filtered to the chosen page here).
daily = load(daily_totals, f)
pages = load(daily_page_traffic, f.apps, *f.days)
if f.page:
    pages = pages[pages["page"] == f.page]

if not no_data(pages, "daily page traffic", DAILY_HINT):
    totals = pages.groupby("app_id")["page_views"].transform("sum")
    pages = pages.assign(traffic_share=pages["page_views"] / totals).sort_values(
        ["page_views", "app_id", "page"], ascending=[False, True, True])
    row = daily[["events", "page_views", "sessions", "bot_events"]].sum()
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Page views", f"{int(row['page_views'] or 0):,}")
    c2.metric("Sessions", f"{int(row['sessions'] or 0):,}")
    c3.metric("Events", f"{int(row['events'] or 0):,}")
    c4.metric("Bot share of events", pct((row["bot_events"] or 0) / row["events"] if row["events"] else None))
    top = pages.iloc[0]
    st.markdown(f"**{top['page']}** accounts for **{top['traffic_share']:.0%}** of {top['app_id']} traffic.")

    st.subheader("Most visited pages")
    st.altair_chart(
        alt.Chart(pages.head(20)).mark_bar().encode(
            x=alt.X("page_views:Q", title="page views"),
            y=alt.Y("page:N", sort="-x", title=None),
            color=alt.Color("app_id:N", title="site"),
            tooltip=["app_id", "page", "page_views", alt.Tooltip("traffic_share:Q", format=".1%")],
        ),
        width="stretch",
    )
    table(pages, "pages", column_config={
        "traffic_share": st.column_config.ProgressColumn("share of site traffic", format="percent",
                                                         min_value=0, max_value=1)})

st.subheader("Time on page")
dwell = load(page_time, f).dropna(subset=["time_on_page_s"])
if not no_data(dwell, "time on page", DAILY_HINT):
    dwell = dwell.sort_values(["page_views", "app_id", "page"], ascending=[False, True, True])
    longest = dwell.sort_values(["time_on_page_s", "app_id", "page"], ascending=[False, True, True]).iloc[0]
    st.markdown(f"Visitors stay longest on **{longest['page']}** ({longest['app_id']}): "
                f"**{longest['time_on_page_s']:.1f} s** on average.")
    time_on_page_chart(dwell, "time on page", "page_leaves")

st.subheader("Page views by hour")
hourly = load(hourly_traffic, f)
if not no_data(hourly, "hourly traffic", HOURLY_HINT):
    st.altair_chart(
        alt.Chart(hourly).mark_line(point=True).encode(
            x=alt.X("hour:T", title="hour (UTC)"), y=alt.Y("page_views:Q", title="page views"),
            color=alt.Color("app_id:N", title="site"), tooltip=["hour", "app_id", "page_views"],
        ),
        width="stretch",
    )
    table(hourly, "page views by hour")

left, right = st.columns(2)
with left:
    st.subheader("By day")
    daily = daily[["day", "app_id", "page_views", "unique_users", "sessions"]]
    if not no_data(daily, "daily totals", DAILY_HINT):
        st.altair_chart(
            alt.Chart(daily).mark_bar().encode(
                x=alt.X("day:O", title=None), y=alt.Y("page_views:Q", title="page views"),
                color=alt.Color("app_id:N", title="site"), xOffset="app_id:N",
                tooltip=["day", "app_id", "page_views", "unique_users", "sessions"],
            ),
            width="stretch",
        )
        table(daily, "daily totals")
with right:
    st.subheader("Peak hours")
    hours = load(peak_hours, f)
    if not no_data(hours, "hourly profiles", DAILY_HINT):
        hours["peak"] = hours["days_in_top_3"] > 0
        st.altair_chart(
            alt.Chart(hours).mark_bar().encode(
                x=alt.X("hour:O", title="hour of day (UTC)"), y=alt.Y("page_views:Q", title="page views"),
                color=alt.Color("peak:N", title="a top-3 hour"), column=alt.Column("app_id:N", title=None),
                tooltip=["app_id", "hour", "page_views", "days_in_top_3"],
            ),
        )
        table(hours, "peak hours")
