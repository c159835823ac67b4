"""Daily report: the sentences the daily DAG's HiveQL reports state, per site and day."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard.history_data import report_sentences, report_totals
from dashboard.ui import DAILY_HINT, load, no_data, sidebar_filters, table

f = sidebar_filters(with_page=False)
st.title("Daily report")
st.caption(f"{', '.join(f.apps)} · {f.start} to {f.end} (UTC) · written by `clickstream_daily` when a day "
           "is built (report_* tables)")

totals = load(report_totals, f)
if not no_data(totals, "daily reports", DAILY_HINT):
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Days reported", f"{totals['day'].nunique():,}")
    c2.metric("Sessions", f"{int(totals['sessions'].sum()):,}")
    c3.metric("Page views", f"{int(totals['page_views'].fillna(0).sum()):,}")
    c4.metric("Page views answered with an error", f"{int(totals['errors'].fillna(0).sum()):,}")

    sentences = load(report_sentences, f)
    for day, of_day in sentences.groupby("day", sort=False):  # newest day first
        st.subheader(f"{day} (UTC)")
        columns = st.columns(min(3, of_day["app_id"].nunique()))
        for i, (app, lines) in enumerate(of_day.groupby("app_id", sort=True)):
            with columns[i % len(columns)]:
                st.markdown(f"**{app}**\n\n" + "\n".join(f"- {line}" for line in lines["headline"]))

    st.subheader("Page views per day")
    st.altair_chart(alt.Chart(totals).mark_bar().encode(
        x=alt.X("day:O", title=None), y=alt.Y("page_views:Q", title="page views"),
        color=alt.Color("app_id:N", title="site"), xOffset="app_id:N",
        tooltip=["day", "app_id", "sessions", "page_views", "errors"]), width="stretch")
    table(totals, "report totals")
    table(sentences, "report sentences")
