"""Entry point of the clickstream dashboard: `PYTHONPATH=. streamlit run dashboard/streamlit_app.py`.

`streamlit run` puts only dashboard/ on the path: the repository root comes from PYTHONPATH (`make
run` sets it for every service; the production image sets it to /opt/clickstream).

Every page reads the Hive tables through HiveServer2 (settings from the
environment, like every other component); docs/dashboard.md lists which
table feeds which chart.
"""

from pathlib import Path

import streamlit as st

from dashboard.login import require_login

PAGES = Path(__file__).resolve().parent / "app_pages"


def run() -> None:
    """Build the navigation and run the selected page."""
    st.set_page_config(page_title="Clickstream analytics", page_icon=":material/monitoring:", layout="wide")
    if not require_login():  # production: nothing below runs until the session has given the password
        return
    page = st.navigation({
        "Now": [
            st.Page(PAGES / "live.py", title="Live", icon=":material/bolt:", default=True),
        ],
        "History": [
            st.Page(PAGES / "report.py", title="Daily report", icon=":material/summarize:"),
            st.Page(PAGES / "traffic.py", title="Traffic", icon=":material/bar_chart:"),
            st.Page(PAGES / "sections.py", title="Sections", icon=":material/grid_view:"),
            st.Page(PAGES / "navigation.py", title="Navigation", icon=":material/alt_route:"),
            st.Page(PAGES / "geography.py", title="Geography", icon=":material/public:"),
            st.Page(PAGES / "performance.py", title="Performance", icon=":material/speed:"),
            st.Page(PAGES / "sessions.py", title="Sessions", icon=":material/timer:"),
            st.Page(PAGES / "audience.py", title="Audience", icon=":material/devices:"),
        ],
        "Operations": [
            st.Page(PAGES / "pipeline.py", title="Pipeline health", icon=":material/monitor_heart:"),
        ],
    })  # fmt: skip
    page.run()


run()
