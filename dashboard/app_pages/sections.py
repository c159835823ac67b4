"""Sections: which parts of which pages people engage with, and how long each stays in view."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard.history_data import section_engagement
from dashboard.ui import DAILY_HINT, load, no_data, sidebar_filters, table

f = sidebar_filters()
st.title("Sections")
st.caption(f"{', '.join(f.apps)} · {f.start} to {f.end} (UTC)" + (f" · {f.page}" if f.page else ""))

LABELS = {"time_in_view_s": "time in view (s)"}

sections = load(section_engagement, f)

if not no_data(sections, "section engagement", DAILY_HINT):
    sections = sections.sort_values(["interactions", "app_id", "page", "section"],
                                    ascending=[False, True, True, True])
    top = sections.iloc[0]
    st.markdown(f"The most engaged section is **{top['section']}** on **{top['page']}** ({top['app_id']}): "
                f"**{top['interactions']:,}** interactions, **{top['button_clicks']:,}** button clicks.")
    timed = sections.dropna(subset=["time_in_view_s"])
    if not timed.empty:
        overall = (timed["time_in_view_s"] * timed["timed_views"]).sum() / timed["timed_views"].sum()
        st.markdown(f"A section stays in view **{overall:.1f} s** on average "
                    f"(over **{timed['timed_views'].sum():,}** section views timed by the tracker's "
                    "section-leave beacon).")
    measures = ["interactions", "clicks", "views", "scrolls", "hovers", "button_clicks", "time_in_view_s"]
    measure = st.segmented_control("Measure", measures, default="interactions", key="sections_measure",
                                   format_func=lambda m: LABELS.get(m, m.replace("_", " ")))
    measure = measure or "interactions"
    sections["page_of_site"] = sections["app_id"] + " " + sections["page"]
    st.subheader(f"Engagement heatmap: {LABELS.get(measure, measure.replace('_', ' '))} per page and section")
    st.altair_chart(
        alt.Chart(sections).mark_rect().encode(
            x=alt.X("section:N", title="section", sort="ascending"),
            y=alt.Y("page_of_site:N", title=None),
            color=alt.Color(f"{measure}:Q", title=LABELS.get(measure, measure.replace("_", " ")),
                            scale=alt.Scale(scheme="blues")),
            tooltip=["app_id", "page", "section", "interactions", "views", "clicks", "scrolls", "hovers",
                     "button_clicks", alt.Tooltip("time_in_view_s:Q", title="time in view (s)", format=".1f"),
                     "timed_views"],
        ),
        width="stretch",
    )
    table(sections.drop(columns="page_of_site"), "sections",
          column_config={"time_in_view_s": st.column_config.NumberColumn("time in view (s)", format="%.1f")})
