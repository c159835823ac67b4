"""The dashboard's login in production: one password, the secret CLICKSTREAM_DASHBOARD_PASSWORD.

Production hands the password as a file (CLICKSTREAM_DASHBOARD_PASSWORD_FILE, a compose secret;
clickstream/secrets.py). Until a session has given it, the app draws the login form only: no page runs, so
no query is made and no number is sent. Without the secret — the embedded runtime, which listens on
127.0.0.1 only — no login is asked. Why a password in the app and not Streamlit's OpenID Connect login or
a proxy: docs/decisions/production-authentication.md.
"""

from __future__ import annotations

import hmac
import time

import streamlit as st

from clickstream.secrets import read_secret

PASSWORD_VAR = "CLICKSTREAM_DASHBOARD_PASSWORD"
WRONG_DELAY_S = 1.0  # each wrong password costs its session a second: guessing is slow
STATE_KEY = "clickstream_logged_in"


def logged_in() -> bool:
    """Whether this session may see the pages: it gave the password, or none is asked."""
    return not read_secret(PASSWORD_VAR) or bool(st.session_state.get(STATE_KEY))


def require_login() -> bool:
    """True once the session has logged in (at once without a password); else draw the form, return False.

    The caller ends its run on False: a run that ends normally drops the fragments of the page shown before
    (the Live page's refresh). `st.stop()` would keep them (Streamlit 1.67 clears its fragment storage only
    after a run that returns), and the next refresh would draw that page over the form after a log-out.
    """
    expected = read_secret(PASSWORD_VAR)
    if not expected:
        return True
    if st.session_state.get(STATE_KEY):
        if st.sidebar.button("Log out", icon=":material/logout:"):
            del st.session_state[STATE_KEY]
            st.rerun()
        return True
    st.title("Clickstream analytics")
    with st.form("login"):
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        if hmac.compare_digest(password.encode(), expected.encode()):
            st.session_state[STATE_KEY] = True
            st.rerun()
        time.sleep(WRONG_DELAY_S)
        st.error("Wrong password.", icon=":material/lock:")
    return False
