"""Navigation: prev → current → next flows, the top paths, and each site's funnel."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.history_data import funnel_steps, top_paths
from dashboard.ui import DAILY_HINT, load, no_data, pct, sidebar_filters, table

SANKEY_PATHS = 15  # more makes the diagram unreadable; the table below has the rest

f = sidebar_filters(with_page=False)
st.title("Navigation")
st.caption(f"{', '.join(f.apps)} · {f.start} to {f.end} (UTC)")

paths = load(top_paths, f)


def sankey(paths: pd.DataFrame) -> go.Figure:
    """A three-column Sankey (previous → current → next page) of the given 3-step paths."""
    first = paths.groupby(["step1", "step2"], as_index=False)["occurrences"].sum()
    second = paths.groupby(["step2", "step3"], as_index=False)["occurrences"].sum()
    nodes = ([f"{p} (prev)" for p in sorted(first["step1"].unique())]
             + [f"{p}" for p in sorted(set(first["step2"]) | set(second["step2"]))]
             + [f"{p} (next)" for p in sorted(second["step3"].unique())])
    index = {name: i for i, name in enumerate(nodes)}
    source = [index[f"{a} (prev)"] for a in first["step1"]] + [index[b] for b in second["step2"]]
    target = [index[b] for b in first["step2"]] + [index[f"{c} (next)"] for c in second["step3"]]
    value = first["occurrences"].tolist() + second["occurrences"].tolist()
    figure = go.Figure(go.Sankey(node={"label": nodes, "pad": 12},
                                 link={"source": source, "target": target, "value": value}))
    figure.update_layout(margin={"l": 8, "r": 8, "t": 8, "b": 8}, height=460)
    return figure


if not no_data(paths, "navigation paths", DAILY_HINT):
    paths = paths.sort_values(["occurrences", "app_id", "step1", "step2", "step3"],
                              ascending=[False, True, True, True, True])
    app = st.selectbox("Flows of", sorted(paths["app_id"].unique()), key="navigation_app")
    of_app = paths[paths["app_id"] == app].head(SANKEY_PATHS)
    st.subheader(f"Previous → current → next page ({app}, its {len(of_app)} most frequent paths)")
    st.plotly_chart(sankey(of_app), theme="streamlit", width="stretch")
    st.subheader("Top paths")
    st.caption("Each day keeps each site's ten most frequent three-page paths; over several days a path "
               "counts what it counted on the days it was among them.")
    table(paths.head(50), "top paths")

st.subheader("Funnels")
funnels = load(funnel_steps, f)
if not no_data(funnels, "funnels", DAILY_HINT):
    for (app, name), steps in funnels.groupby(["app_id", "funnel"], sort=True):
        steps = steps.sort_values("step").reset_index(drop=True)
        start = steps["users"].iloc[0]
        steps["conversion_from_start"] = steps["users"] / start if start else None
        steps["conversion_from_previous"] = steps["users"] / steps["users"].shift(1)
        last = steps["conversion_from_start"].iloc[-1]
        st.markdown(f"**{app} · {name}**: {pct(last)} of the users who started reached "
                    f"*{steps['step_name'].iloc[-1]}*.")
        figure = go.Figure(go.Funnel(y=steps["step_name"], x=steps["users"],
                                     textinfo="value+percent initial"))
        figure.update_layout(margin={"l": 8, "r": 8, "t": 8, "b": 8}, height=80 + 60 * len(steps))
        st.plotly_chart(figure, theme="streamlit", width="stretch", key=f"funnel_{app}_{name}")
        table(steps, f"funnel {app} {name}")
