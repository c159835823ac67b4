"""Entry point of the clickstream dashboard: `streamlit run dashboard/streamlit_app.py`."""

import streamlit as st


def overview() -> None:
    """Show what the dashboard will hold."""
    st.title("Clickstream analytics")
    st.info("No analytics pages yet: the streaming and batch jobs fill the Hive tables first.")


def run() -> None:
    """Build the navigation and run the selected page."""
    st.set_page_config(page_title="Clickstream analytics", layout="wide")
    page = st.navigation([st.Page(overview, title="Overview", default=True)])
    page.run()


run()
