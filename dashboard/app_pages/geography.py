"""Geography: where users are, by city on a map and by country in a table."""

from __future__ import annotations

import math

import pydeck as pdk
import streamlit as st

from dashboard.history_data import cities
from dashboard.ui import DAILY_HINT, load, no_data, sidebar_filters, table

f = sidebar_filters(with_page=False)
st.title("Geography")
st.caption(f"{', '.join(f.apps)} · {f.start} to {f.end} (UTC)")

places = load(cities, f)

if not no_data(places, "geography", DAILY_HINT):
    top = places.iloc[0]
    st.markdown(f"Most sessions come from **{top['city']}, {top['country']}** ({top['sessions']:,}).")
    st.subheader("Sessions by city")
    placed = places.dropna(subset=["latitude", "longitude"]).copy()
    biggest = max(placed["sessions"].max(), 1)
    placed["radius"] = placed["sessions"].map(lambda n: 20_000 + 280_000 * math.sqrt(n / biggest))
    st.pydeck_chart(pdk.Deck(
        layers=[pdk.Layer("ScatterplotLayer", data=placed, get_position=["longitude", "latitude"],
                          get_radius="radius", get_fill_color=[31, 119, 180, 160], pickable=True)],
        initial_view_state=pdk.ViewState(latitude=25, longitude=10, zoom=0.8),
        tooltip={"text": "{city}, {country}\n{sessions} sessions\n{page_views} page views"},
        map_style=None,
    ), height=460)
    table(places.drop(columns=["latitude", "longitude"]), "places")

    st.subheader("By country")
    countries = (places.groupby("country", as_index=False)[["user_days", "sessions", "page_views", "events"]]
                 .sum().sort_values(["sessions", "country"], ascending=[False, True]))
    countries["share_of_sessions"] = countries["sessions"] / countries["sessions"].sum()
    table(countries, "countries", column_config={
        "share_of_sessions": st.column_config.ProgressColumn("share of sessions", format="percent",
                                                             min_value=0, max_value=1)})
