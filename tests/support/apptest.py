"""Rendering dashboard pages with Streamlit's AppTest, in the test's process and environment."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from clickstream.settings import REPO_ROOT

APP = str(REPO_ROOT / "dashboard" / "streamlit_app.py")


def render(page: str) -> AppTest:
    """Run the app, switch to one page, and return it rendered."""
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    if page != "live":
        app.switch_page(f"app_pages/{page}.py")
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def shown(app: AppTest, download: str):
    """The table whose CSV download is named so (exactly the rows shown)."""
    label = f"Download {download} (CSV)"
    (button,) = [i for i, b in enumerate(app.get("download_button")) if b.label == label]
    return app.dataframe[button].value
