"""Performance: response time and errors per page over time, and how they follow peak hours."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard.history_data import hour_profiles, page_performance, performance_summary
from dashboard.ui import DAILY_HINT, HOURLY_HINT, load, no_data, pct, sidebar_filters, table

TOP_PAGES = 8

f = sidebar_filters()
st.title("Performance")
st.caption(f"{', '.join(f.apps)} · {f.start} to {f.end} (UTC)" + (f" · {f.page}" if f.page else ""))

summary = load(performance_summary, f)
if not no_data(summary, "daily performance", DAILY_HINT):
    for column, (_, row) in zip(st.columns(len(summary)), summary.iterrows(), strict=True):
        column.metric(f"{row['app_id']}: p95 at peak vs off-peak", f"{row['peak_p95_ms']:,.0f} ms",
                      f"{row['peak_p95_ms'] - row['offpeak_p95_ms']:+,.0f} ms vs off-peak",
                      delta_color="inverse")
        column.caption(f"error rate {pct(row['errors'] / row['page_views'] if row['page_views'] else None)}")

st.subheader("Response time and error rate per page, by hour")
pages = load(page_performance, f)
if not no_data(pages, "hourly page performance", HOURLY_HINT):
    busiest = (pages.groupby(["app_id", "page"])["page_views"].sum().nlargest(TOP_PAGES).index)
    shown = pages.set_index(["app_id", "page"]).loc[busiest].reset_index()
    shown["series"] = shown["app_id"] + " " + shown["page"]
    if not f.page:
        st.caption(f"The {len(busiest)} busiest pages; pick one in the sidebar to see it alone.")
    base = alt.Chart(shown).encode(x=alt.X("hour:T", title="hour (UTC)"),
                                   color=alt.Color("series:N", title="page"))
    left, right = st.columns(2)
    left.altair_chart(base.mark_line(point=True).encode(
        y=alt.Y("response_p95_ms:Q", title="p95 response (ms)"),
        tooltip=["hour", "series", "response_p50_ms", "response_p95_ms", "page_views"]), width="stretch")
    right.altair_chart(base.mark_line(point=True).encode(
        y=alt.Y("error_rate:Q", title="error rate", axis=alt.Axis(format="%")),
        tooltip=["hour", "series", "errors", "page_views", alt.Tooltip("error_rate:Q", format=".1%")]),
        width="stretch")
    table(shown.drop(columns="series").sort_values(["hour", "app_id", "page"]), "page performance by hour")

st.subheader("Load and latency by hour of day")
hours = load(hour_profiles, f)
if not no_data(hours, "hourly profiles", DAILY_HINT):
    correlation = hours[["page_views", "response_p95_ms"]].corr().iloc[0, 1]
    st.markdown(f"Correlation between an hour's page views and its p95 response time: **{correlation:.2f}** "
                "(1 = latency rises exactly with load).")
    st.altair_chart(
        alt.Chart(hours).mark_circle(size=70).encode(
            x=alt.X("page_views:Q", title="page views in the hour"),
            y=alt.Y("response_p95_ms:Q", title="p95 response (ms)"),
            color=alt.Color("is_peak:N", title="peak hour"), shape=alt.Shape("app_id:N", title="site"),
            tooltip=["day", "app_id", "hour", "page_views", "response_p95_ms", "error_rate"],
        ),
        width="stretch",
    )
    table(hours, "hours")
