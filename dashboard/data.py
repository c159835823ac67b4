"""Typed loaders of the dashboard: every number on every page comes from one of these queries.

Queries go to HiveServer2 through PyHive (the platform's one Hive client) and
come back as pandas DataFrames. Results are cached per query text with
``st.cache_data``: a few seconds for the live tables, a few minutes for the
batch tables, which change at most once an hour. Partition filters (``dt``)
are always part of the query, so a page reads the days it shows and no more.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import streamlit as st

from clickstream import hive
from clickstream.airflow_api import AirflowApi, AirflowApiError
from clickstream.settings import SITES, Settings, get_settings

LIVE_TTL = 4      # seconds: the live page refreshes every 5 s
BATCH_TTL = 300   # seconds: batch tables change at most hourly


class DataError(RuntimeError):
    """A query the dashboard needs failed; the message is fit to show to the user."""


class MissingTable(DataError):
    """A table the query reads has not been created yet (a fresh stack)."""


# Tables the streaming application creates when it starts; the batch DAGs create the others.
STREAMING_TABLES = ("raw_events", "bad_events", "live_metrics", "live_metrics_latest", "live_active_users",
                    "live_active_users_latest", "live_paths", "live_alerts", "stream_progress")


def missing_table_message(error: str) -> str:
    """Say which table does not exist yet and what creates it, from Spark's TABLE_OR_VIEW_NOT_FOUND."""
    named = re.search(r"`?([A-Za-z0-9_]+)`?\s+cannot be found", error)
    table = named.group(1) if named else None
    what = f"Table `{table}` does not exist yet" if table else "A table this page reads does not exist yet"
    if table in STREAMING_TABLES:
        return (f"{what}: the streaming application creates it when it first starts (the "
                "`clickstream_streaming` DAG; `make status` shows whether it runs).")
    return (f"{what}: the batch DAGs create it in their first run, a few minutes after the first full "
            "hour since the platform started (`clickstream_hourly`).")


@dataclass(frozen=True)
class Filters:
    """What the sidebar selected: one app or all, a date range, one page or all."""

    apps: tuple[str, ...]
    start: date
    end: date
    page: str | None = None

    @property
    def days(self) -> tuple[str, str]:
        """The date range as the ``dt`` partition values it spans."""
        return self.start.isoformat(), self.end.isoformat()

    def where(self, *, page_column: str | None = None, alias: str = "") -> str:
        """Return the SQL predicate of these filters (dt range, apps, and page if the table has one)."""
        p = f"{alias}." if alias else ""
        first, last = self.days
        terms = [f"{p}dt BETWEEN '{first}' AND '{last}'", f"{p}app_id IN ({quoted(self.apps)})"]
        if page_column and self.page:
            terms.append(f"{p}{page_column} = {quoted([self.page])}")
        return " AND ".join(terms)


def quoted(values) -> str:
    """Return SQL string literals for values (quotes escaped), comma-separated."""
    return ", ".join("'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)


def settings() -> Settings:
    """The settings the dashboard runs with (from the environment)."""
    return get_settings()


def _run(sql: str) -> pd.DataFrame:
    s = settings()
    try:
        conn = hive.connect(s)
    except Exception as exc:  # noqa: BLE001 - any connection failure is shown the same way
        raise DataError(f"Cannot reach HiveServer2 at {s.hive_host}:{s.hive_port} ({exc}). "
                        "Is the stack running? `make status` shows it.") from exc
    try:
        cur = conn.cursor()
        cur.execute(sql)
        columns = [d[0].split(".")[-1] for d in cur.description or []]
        return pd.DataFrame.from_records(cur.fetchall(), columns=columns)
    except Exception as exc:  # noqa: BLE001
        message = str(exc)
        if "TABLE_OR_VIEW_NOT_FOUND" in message or "Table or view not found" in message:
            raise MissingTable(missing_table_message(message)) from exc
        raise DataError(f"HiveServer2 could not run a dashboard query: {message[:500]}") from exc
    finally:
        conn.close()


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def live_query(sql: str) -> pd.DataFrame:
    """Run a query over the live tables (cached for a few seconds)."""
    return _run(sql)


@st.cache_data(ttl=BATCH_TTL, show_spinner=False)
def batch_query(sql: str) -> pd.DataFrame:
    """Run a query over the batch tables (cached for minutes)."""
    return _run(sql)


@st.cache_data(ttl=BATCH_TTL, show_spinner=False)
def available_days() -> tuple[date, date] | None:
    """Return the first and last day the daily tables hold, or None before the first daily run."""
    df = _run("SHOW PARTITIONS daily_summary")
    if df.empty:
        return None
    days = sorted(date.fromisoformat(p.split("=", 1)[1]) for p in df.iloc[:, 0])
    return days[0], days[-1]


@st.cache_data(ttl=BATCH_TTL, show_spinner=False)
def daily_page_traffic(apps: tuple[str, ...], first: str, last: str) -> pd.DataFrame:
    """Return page views, user-days, entrances and exits per app and page over these days.

    One query serves both the sidebar's page list and the Traffic page's table.
    """
    return _run(f"SELECT app_id, page, sum(page_views) AS page_views, sum(unique_users) AS user_days, "
                f"sum(entrances) AS entrances, sum(exits) AS exits FROM daily_pages "
                f"WHERE dt BETWEEN '{first}' AND '{last}' AND app_id IN ({quoted(apps)}) "
                "GROUP BY app_id, page")


def pages_of(apps: tuple[str, ...], first: str, last: str) -> list[str]:
    """Return the pages seen in the daily tables for these apps and days, most viewed first."""
    views = daily_page_traffic(apps, first, last).groupby("page")["page_views"].sum()
    return sorted(views.index, key=lambda page: (-views[page], page))


def newest_live_minute(apps: tuple[str, ...]) -> datetime | None:
    """Return the start of the newest 1-minute window in the live metrics (None if there is none)."""
    days = live_query("SHOW PARTITIONS live_metrics")  # the metastore answers: no data is read
    if days.empty:
        return None
    newest_day = max(p.split("=", 1)[1] for p in days.iloc[:, 0])
    df = live_query(
        f"SELECT cast(max(window_start) AS STRING) AS newest FROM live_metrics "
        f"WHERE dt >= '{date.fromisoformat(newest_day) - timedelta(days=1)}' AND dim = 'app' "
        f"AND app_id IN ({quoted(apps)})")
    newest = df["newest"].iloc[0] if not df.empty else None
    return datetime.fromisoformat(newest).replace(tzinfo=UTC) if newest else None


# --- Airflow REST API ---------------------------------------------------------------------

def airflow_password() -> str | None:
    """Return the Airflow API password: CLICKSTREAM_AIRFLOW_API_PASSWORD (set by the embedded runtime)."""
    return os.environ.get("CLICKSTREAM_AIRFLOW_API_PASSWORD")


@st.cache_data(ttl=30, show_spinner=False)
def last_dag_runs() -> pd.DataFrame:
    """Return each DAG's newest run and newest successful run, from the Airflow REST API."""
    s = settings()
    api = AirflowApi(s.airflow_api_url, s.airflow_api_user, airflow_password() or "")
    try:
        rows = []
        for dag in api.dags("clickstream"):
            listed = api.dag_runs(dag["dag_id"])
            ok = [r for r in listed if r["state"] == "success"]
            rows.append({
                "dag_id": dag["dag_id"],
                "paused": dag["is_paused"],
                "last_run": listed[0]["run_after"] if listed else None,
                "last_state": listed[0]["state"] if listed else None,
                "last_success": ok[0]["end_date"] if ok else None,
                "failed_of_last_50": sum(r["state"] == "failed" for r in listed),
            })
    except AirflowApiError as exc:
        raise DataError(str(exc)) from exc
    return pd.DataFrame(rows, columns=["dag_id", "paused", "last_run", "last_state", "last_success",
                                       "failed_of_last_50"])


__all__ = ["SITES", "BATCH_TTL", "LIVE_TTL", "DataError", "Filters", "MissingTable", "available_days",
           "batch_query", "last_dag_runs", "live_query", "newest_live_minute", "pages_of", "quoted",
           "settings"]
