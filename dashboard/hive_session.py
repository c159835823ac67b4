"""The dashboard's HiveServer2 session and its cached queries.

Queries go to HiveServer2 through PyHive (the platform's one Hive client), on one session the dashboard
keeps open (``HiveSession``), and come back as pandas DataFrames. Results are cached per query text with
``st.cache_data``: a few seconds for the live tables, a few minutes for the batch tables, which change at
most once an hour. The loaders (dashboard/history_data.py, pipeline_data.py, live_tables.py) always put
the partition filters (``dt``) in their queries, so a page reads the days it shows and no more.
"""

from __future__ import annotations

import threading

import pandas as pd
import streamlit as st

from clickstream import hive
from clickstream.settings import Settings, get_settings
from dashboard.errors import DataError, MissingTable, missing_table_message

LIVE_TTL = 1.5    # seconds: the live page refreshes every 2 s
BATCH_TTL = 300   # seconds: batch tables change at most hourly


def settings() -> Settings:
    """The settings the dashboard runs with (from the environment)."""
    return get_settings()


class HiveSession:
    """One HiveServer2 session shared by every viewer of the dashboard, opened when first needed.

    Queries take turns (a Thrift connection serves one call at a time); the results are cached, so
    most page views send none. A session HiveServer2 dropped (a restart) is opened again once.
    HiveServer2 lists a table's files anew for every query (``spark.sql.hive.
    filesourcePartitionFileCacheSize=0``), so a long-lived session sees every new micro-batch.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._conn = None

    def _connect(self):
        s = self.settings
        try:
            return hive.connect(s)
        except Exception as exc:  # noqa: BLE001 - any connection failure is shown the same way
            raise DataError(f"Cannot reach HiveServer2 at {s.hive_host}:{s.hive_port} ({exc}). "
                            "Is the stack running? `make status` shows it.") from exc

    def _close(self) -> None:
        try:
            self._conn.close()
        except Exception:  # noqa: BLE001 - a broken session may not close cleanly
            pass
        self._conn = None

    def query(self, sql: str) -> pd.DataFrame:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = self._connect()
                try:
                    cur = self._conn.cursor()
                    cur.execute(sql)
                    columns = [d[0].split(".")[-1] for d in cur.description or []]
                    return pd.DataFrame.from_records(cur.fetchall(), columns=columns)
                except Exception as exc:  # noqa: BLE001
                    message = str(exc)
                    if "TABLE_OR_VIEW_NOT_FOUND" in message or "Table or view not found" in message:
                        raise MissingTable(missing_table_message(message)) from exc
                    if isinstance(exc, OSError | EOFError) or "TTransport" in type(exc).__name__:
                        self._close()  # the session is gone: open a new one, once
                        if attempt == 1:
                            continue
                    raise DataError(f"HiveServer2 could not run a dashboard query: {message[:500]}") from exc
        raise AssertionError("unreachable")


def session() -> HiveSession:
    """The dashboard's HiveServer2 session: one per process and HiveServer2 address and database."""
    s = settings()
    return _session(s.hive_host, s.hive_port, s.hive_database)


@st.cache_resource(show_spinner=False)
def _session(host: str, port: int, database: str) -> HiveSession:
    return HiveSession(settings())


def query(sql: str) -> pd.DataFrame:
    return session().query(sql)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def live_query(sql: str) -> pd.DataFrame:
    """Run a query over the live tables (cached for a few seconds)."""
    return query(sql)


@st.cache_data(ttl=BATCH_TTL, show_spinner=False)
def batch_query(sql: str) -> pd.DataFrame:
    """Run a query over the batch tables (cached for minutes)."""
    return query(sql)
