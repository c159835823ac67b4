"""Sessions: how long they last, how many pages they see, bounces, new vs returning users."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard.history_data import new_and_returning, pages_per_session, session_durations, session_summary
from dashboard.ui import DAILY_HINT, load, no_data, pct, sidebar_filters, table

# Upper bounds (seconds) of the duration buckets; the last bucket is open-ended.
BUCKETS = [(10, "< 10 s"), (30, "10–30 s"), (60, "30 s–1 min"), (180, "1–3 min"), (600, "3–10 min"),
           (1800, "10–30 min"), (3600, "30–60 min")]
MAX_PAGES = 15

f = sidebar_filters(with_page=False)
st.title("Sessions")
st.caption(f"{', '.join(f.apps)} · {f.start} to {f.end} (UTC) · "
           "a session ends after 30 minutes without events")

summary = load(session_summary, f)
if not no_data(summary.dropna(subset=["sessions"]), "sessions", DAILY_HINT):
    row = summary.iloc[0]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Sessions", f"{int(row['sessions']):,}")
    c2.metric("Average duration", f"{row['avg_session_s'] / 60:.1f} min")
    c3.metric("Pages per session", f"{row['pages_per_session']:.2f}")
    c4.metric("Bounce rate", pct(row["bounce_rate"]))

    durations = load(session_durations, f, tuple(bound for bound, _ in BUCKETS))
    labels = [label for _, label in BUCKETS] + ["≥ 60 min"]
    durations["duration"] = durations["bucket"].map(lambda i: labels[int(i)])
    per_page = load(pages_per_session, f, MAX_PAGES)
    per_page["pages"] = per_page["pages"].map(lambda n: f"{n}+" if n == MAX_PAGES else str(n))

    left, right = st.columns(2)
    with left:
        st.subheader("Session duration")
        st.altair_chart(alt.Chart(durations).mark_bar().encode(
            x=alt.X("duration:N", sort=labels, title=None), y=alt.Y("sessions:Q"),
            tooltip=["duration", "sessions"]), width="stretch")
        table(durations[["duration", "sessions"]], "session durations")
    with right:
        st.subheader("Pages per session")
        st.altair_chart(alt.Chart(per_page).mark_bar().encode(
            x=alt.X("pages:N", sort=None, title="page views in the session"), y=alt.Y("sessions:Q"),
            tooltip=["pages", "sessions"]), width="stretch")
        table(per_page, "pages per session")

    st.subheader("New vs returning users")
    users = load(new_and_returning, f)
    long = users.melt("day", var_name="users", value_name="count")
    st.altair_chart(alt.Chart(long).mark_bar().encode(
        x=alt.X("day:O", title=None), y=alt.Y("count:Q", title="users", stack=True),
        color=alt.Color("users:N", title=None), tooltip=["day", "users", "count"]), width="stretch")
    table(users, "new and returning users")
    st.caption("Devices, browsers, operating systems and channels: the Audience page.")
