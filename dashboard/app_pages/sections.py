"""Sections: which parts of which pages people engage with."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard.data import section_engagement
from dashboard.ui import DAILY_HINT, load, no_data, sidebar_filters, table

f = sidebar_filters()
st.title("Sections")
st.caption(f"{', '.join(f.apps)} · {f.start} to {f.end} (UTC)" + (f" · {f.page}" if f.page else ""))

sections = load(section_engagement, f)

if not no_data(sections, "section engagement", DAILY_HINT):
    sections = sections.sort_values(["interactions", "app_id", "page", "section"],
                                    ascending=[False, True, True, True])
    top = sections.iloc[0]
    st.markdown(f"The most engaged section is **{top['section']}** on **{top['page']}** ({top['app_id']}): "
                f"**{top['interactions']:,}** interactions, **{top['button_clicks']:,}** button clicks.")
    measures = ["interactions", "clicks", "views", "scrolls", "hovers", "button_clicks"]
    measure = st.segmented_control("Measure", measures, default="interactions", key="sections_measure")
    measure = measure or "interactions"
    sections["page_of_site"] = sections["app_id"] + " " + sections["page"]
    st.subheader(f"Engagement heatmap: {measure.replace('_', ' ')} per page and section")
    st.altair_chart(
        alt.Chart(sections).mark_rect().encode(
            x=alt.X("section:N", title="section", sort="ascending"),
            y=alt.Y("page_of_site:N", title=None),
            color=alt.Color(f"{measure}:Q", title=measure.replace("_", " "), scale=alt.Scale(scheme="blues")),
            tooltip=["app_id", "page", "section", "interactions", "views", "clicks", "scrolls", "hovers",
                     "button_clicks"],
        ),
        width="stretch",
    )
    table(sections.drop(columns="page_of_site"), "sections")
