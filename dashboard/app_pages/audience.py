"""Audience: the devices, browsers, operating systems and channels sessions come from."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard.history_data import channels, devices, operating_systems
from dashboard.ui import DAILY_HINT, load, load_section, no_data, pct, sidebar_filters, table

f = sidebar_filters(with_page=False)
st.title("Audience")
st.caption(f"{', '.join(f.apps)} · {f.start} to {f.end} (UTC) · a session's device, browser, operating "
           "system and channel are those of its first event")

by_browser = load(devices, f)
if not no_data(by_browser, "device counts", DAILY_HINT):
    by_device = (by_browser.groupby(["app_id", "device_type"], as_index=False)
                 .agg(sessions=("sessions", "sum"), user_days=("user_days", "sum")))
    sessions = by_device["sessions"].sum()
    shares = by_device.groupby("device_type")["sessions"].sum().sort_values(ascending=False) / sessions
    c1, c2, c3 = st.columns(3)
    c1.metric("Sessions", f"{sessions:,}")
    c2.metric("Top device type", f"{shares.index[0]} ({pct(shares.iloc[0])})")
    c3.metric("Browsers seen", f"{by_browser['browser'].nunique():,}")
    st.markdown(", ".join(f"**{pct(share)}** of sessions on {device}" for device, share in shares.items())
                + ".")

    left, right = st.columns(2)
    with left:
        st.subheader("Sessions by device type")
        st.altair_chart(alt.Chart(by_device).mark_bar().encode(
            x=alt.X("sessions:Q"), y=alt.Y("device_type:N", sort="-x", title=None),
            color=alt.Color("app_id:N", title="site"), tooltip=["app_id", "device_type", "sessions",
                                                               "user_days"]), width="stretch")
        table(by_device, "devices")
    with right:
        st.subheader("Sessions by browser")
        browsers = (by_browser.groupby(["device_type", "browser"], as_index=False)["sessions"].sum()
                    .sort_values(["sessions", "device_type", "browser"], ascending=[False, True, True]))
        st.altair_chart(alt.Chart(browsers).mark_bar().encode(
            x=alt.X("sessions:Q"), y=alt.Y("browser:N", sort="-x", title=None),
            color=alt.Color("device_type:N", title="device"), tooltip=["device_type", "browser", "sessions"]),
            width="stretch")
        table(by_browser.sort_values(["sessions", "app_id"], ascending=[False, True]), "browsers",
              column_config={"avg_session_s": st.column_config.NumberColumn("avg session (s)",
                                                                            format="%.0f")})

left, right = st.columns(2)
with left:
    st.subheader("Operating systems")
    systems = load_section(operating_systems, f)
    if systems is not None and not no_data(systems, "operating systems", DAILY_HINT):
        systems = systems.sort_values(["sessions", "app_id", "os"], ascending=[False, True, True])
        st.altair_chart(alt.Chart(systems).mark_arc(innerRadius=50).encode(
            theta=alt.Theta("sessions:Q"), color=alt.Color("os:N", title="operating system"),
            tooltip=["app_id", "os", "sessions", "users"]), width="stretch")
        table(systems, "operating systems")
with right:
    st.subheader("Channels")
    by_channel = load_section(channels, f)
    if by_channel is not None and not no_data(by_channel, "channels", DAILY_HINT):
        by_channel["conversion_rate"] = by_channel["conversions"] / by_channel["sessions"]
        st.altair_chart(alt.Chart(by_channel).mark_bar().encode(
            x=alt.X("sessions:Q"), y=alt.Y("channel:N", sort="-x", title=None),
            tooltip=["channel", "sessions", alt.Tooltip("conversion_rate:Q", format=".1%")]), width="stretch")
        table(by_channel, "channels", column_config={
            "bounce_rate": st.column_config.NumberColumn(format="percent"),
            "conversion_rate": st.column_config.NumberColumn(format="percent"),
            "revenue": st.column_config.NumberColumn(format="dollar")})
