"""Typed loaders of the dashboard: every number on every page comes from one of these queries.

Pages hold no SQL: each calls a loader named for what it shows, with the sidebar's ``Filters``.
Queries go to HiveServer2 through PyHive (the platform's one Hive client), on one session the
dashboard keeps open (``HiveSession``), and come back as pandas DataFrames. Results are cached
per query text with ``st.cache_data``: a few seconds for the live tables, a few minutes for the
batch tables, which change at most once an hour. Partition filters (``dt``)
are always part of the query, so a page reads the days it shows and no more.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st

from clickstream import catalog, cluster, hive
from clickstream.airflow_api import AirflowApi, AirflowApiError
from clickstream.secrets import read_secret
from clickstream.settings import Settings, get_settings
from clickstream.sql import string_literal

LIVE_TTL = 1.5    # seconds: the live page refreshes every 2 s
BATCH_TTL = 300   # seconds: batch tables change at most hourly


class DataError(RuntimeError):
    """A query the dashboard needs failed; the message is fit to show to the user."""


class MissingTable(DataError):
    """A table the query reads has not been created yet (a fresh stack)."""


# Tables the streaming application creates when it starts; the batch DAGs create the others.
STREAMING_TABLES = catalog.streaming_names()


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
    return ", ".join(string_literal(v) for v in values)


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


def _run(sql: str) -> pd.DataFrame:
    return session().query(sql)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def _live(sql: str) -> pd.DataFrame:
    """Run a query over the live tables (cached for a few seconds)."""
    return _run(sql)


@st.cache_data(ttl=BATCH_TTL, show_spinner=False)
def _batch(sql: str) -> pd.DataFrame:
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


# --- The History pages (daily and hourly tables) --------------------------------------------

def daily_totals(f: Filters) -> pd.DataFrame:
    """Per day and app: events, page views, users, sessions, bot events (daily_summary)."""
    return _batch(f"""
        SELECT dt AS day, app_id, events, page_views, unique_users, sessions, bot_events
        FROM daily_summary WHERE {f.where()} ORDER BY day, app_id""")


def hourly_traffic(f: Filters) -> pd.DataFrame:
    """Per hour and app: page views and page-user-hours (hourly_pages; the page filter applies)."""
    return _batch(f"""
        SELECT concat(dt, ' ', lpad(cast(hr AS STRING), 2, '0'), ':00') AS hour, app_id,
               sum(page_views) AS page_views, sum(unique_users) AS page_user_hours
        FROM hourly_pages WHERE {f.where(page_column='page')}
        GROUP BY dt, hr, app_id ORDER BY hour, app_id""")


def peak_hours(f: Filters) -> pd.DataFrame:
    """Per app and hour of day: page views and the days it was a top-3 hour (daily_hours)."""
    return _batch(f"""
        SELECT app_id, hr AS hour, sum(page_views) AS page_views,
               sum(CASE WHEN is_peak THEN 1 ELSE 0 END) AS days_in_top_3
        FROM daily_hours WHERE {f.where()} GROUP BY app_id, hr ORDER BY app_id, hour""")


def section_engagement(f: Filters) -> pd.DataFrame:
    """Per app, page and section: interactions by kind, button clicks, user-days, and the average time in
    view in seconds over the section-leave beacons (``timed_views``) (daily_sections).

    Several days' averages are weighed by their beacons, so the result is the average of every beacon.
    """
    return _batch(f"""
        SELECT app_id, page, section, sum(interactions) AS interactions, sum(section_views) AS views,
               sum(section_clicks) AS clicks, sum(section_scrolls) AS scrolls, sum(section_hovers) AS hovers,
               sum(button_clicks) AS button_clicks, sum(unique_users) AS user_days,
               sum(section_leaves) AS timed_views,
               sum(time_in_view_avg_ms * section_leaves) / sum(section_leaves) / 1000 AS time_in_view_s
        FROM daily_sections WHERE {f.where(page_column='page')}
        GROUP BY app_id, page, section""")


def top_paths(f: Filters) -> pd.DataFrame:
    """Per app and 3-page path: occurrences and sessions (daily_paths)."""
    return _batch(f"""
        SELECT app_id, step1, step2, step3, sum(occurrences) AS occurrences, sum(sessions) AS sessions
        FROM daily_paths WHERE {f.where()}
        GROUP BY app_id, step1, step2, step3""")


def funnel_steps(f: Filters) -> pd.DataFrame:
    """Per app, funnel and step: users who reached it and the drop-off (daily_funnels)."""
    return _batch(f"""
        SELECT app_id, funnel, step, step_name, sum(users) AS users, sum(drop_off) AS drop_off
        FROM daily_funnels WHERE {f.where()}
        GROUP BY app_id, funnel, step, step_name ORDER BY app_id, funnel, step""")


def cities(f: Filters) -> pd.DataFrame:
    """Per country and city: user-days, sessions, page views, events, event-weighted position."""
    return _batch(f"""
        SELECT country, city, sum(unique_users) AS user_days, sum(sessions) AS sessions,
               sum(page_views) AS page_views, sum(events) AS events,
               sum(latitude * events) / sum(events) AS latitude,
               sum(longitude * events) / sum(events) AS longitude
        FROM daily_geo WHERE {f.where()} AND country <> '??'
        GROUP BY country, city ORDER BY sessions DESC, country, city""")


def performance_summary(f: Filters) -> pd.DataFrame:
    """Per app: errors, page views, p95 at peak and off-peak hours and their ratio (daily_summary)."""
    return _batch(f"""
        SELECT app_id, sum(errors) AS errors, sum(page_views) AS page_views,
               avg(peak_response_p95_ms) AS peak_p95_ms, avg(offpeak_response_p95_ms) AS offpeak_p95_ms,
               avg(peak_slowdown) AS peak_slowdown
        FROM daily_summary WHERE {f.where()} GROUP BY app_id ORDER BY app_id""")


def page_performance(f: Filters) -> pd.DataFrame:
    """Per hour, app and page with views: response p50/p95, errors, error rate (hourly_pages)."""
    return _batch(f"""
        SELECT concat(dt, ' ', lpad(cast(hr AS STRING), 2, '0'), ':00') AS hour, app_id, page, page_views,
               response_p50_ms, response_p95_ms, errors, error_rate
        FROM hourly_pages WHERE {f.where(page_column='page')} AND page_views > 0""")


def hour_profiles(f: Filters) -> pd.DataFrame:
    """Per day, app and hour: page views, response p50/p95, error rate, whether a peak hour."""
    return _batch(f"""
        SELECT dt AS day, app_id, hr AS hour, page_views, response_p50_ms, response_p95_ms, error_rate,
               is_peak
        FROM daily_hours WHERE {f.where()} ORDER BY day, app_id, hour""")


def session_summary(f: Filters) -> pd.DataFrame:
    """One row: sessions, their average duration, pages per session, bounce rate, new/returning users."""
    return _batch(f"""
        SELECT sum(sessions) AS sessions, sum(avg_session_s * sessions) / sum(sessions) AS avg_session_s,
               sum(pages_per_session * sessions) / sum(sessions) AS pages_per_session,
               sum(bounce_rate * sessions) / sum(sessions) AS bounce_rate,
               sum(new_users) AS new_users, sum(returning_users) AS returning_users
        FROM daily_summary WHERE {f.where()}""")


def session_durations(f: Filters, bounds: tuple[int, ...]) -> pd.DataFrame:
    """Sessions per duration bucket: bucket i holds durations below bounds[i]; the last, the rest."""
    case = " ".join(f"WHEN duration_s < {bound} THEN {i}" for i, bound in enumerate(bounds))
    return _batch(f"""
        SELECT CASE {case} ELSE {len(bounds)} END AS bucket, count(*) AS sessions
        FROM sessions WHERE {f.where()} GROUP BY 1 ORDER BY 1""")


def pages_per_session(f: Filters, most: int) -> pd.DataFrame:
    """Sessions per number of page views, the last count (``most``) standing for that many or more."""
    return _batch(f"""
        SELECT least(page_views, {int(most)}) AS pages, count(*) AS sessions
        FROM sessions WHERE {f.where()} GROUP BY 1 ORDER BY 1""")


def new_and_returning(f: Filters) -> pd.DataFrame:
    """Per day: new and returning users (daily_summary)."""
    return _batch(f"""
        SELECT dt AS day, sum(new_users) AS new_users, sum(returning_users) AS returning_users
        FROM daily_summary WHERE {f.where()} GROUP BY dt ORDER BY dt""")


def channels(f: Filters) -> pd.DataFrame:
    """Per channel: sessions, bounce rate, conversions, revenue (daily_channels)."""
    return _batch(f"""
        SELECT channel, sum(sessions) AS sessions,
               sum(bounce_rate * sessions) / sum(sessions) AS bounce_rate,
               sum(conversions) AS conversions, sum(revenue) AS revenue
        FROM daily_channels WHERE {f.where()} GROUP BY channel ORDER BY sessions DESC, channel""")


def page_time(f: Filters) -> pd.DataFrame:
    """Per app and page: page views and the average time on page (daily_pages; the page filter applies).

    The average over several days weighs each day's by its page-leave beacons, so the result is the
    average of every beacon.
    """
    return _batch(f"""
        SELECT app_id, page, sum(page_views) AS page_views, sum(page_leaves) AS page_leaves,
               sum(time_on_page_avg_ms * page_leaves) / sum(page_leaves) / 1000 AS time_on_page_s
        FROM daily_pages WHERE {f.where(page_column='page')} GROUP BY app_id, page""")


def devices(f: Filters) -> pd.DataFrame:
    """Per app, device type and browser: sessions, user-days, average session duration (daily_devices)."""
    return _batch(f"""
        SELECT app_id, device_type, browser, sum(sessions) AS sessions, sum(unique_users) AS user_days,
               sum(avg_duration_s * sessions) / sum(sessions) AS avg_session_s
        FROM daily_devices WHERE {f.where()} GROUP BY app_id, device_type, browser""")


def operating_systems(f: Filters) -> pd.DataFrame:
    """Per app and operating system: sessions and users (the sessions table: daily_devices has no OS)."""
    return _batch(f"""
        SELECT app_id, os, count(*) AS sessions, count(DISTINCT user_id) AS users
        FROM sessions WHERE {f.where()} GROUP BY app_id, os""")


# --- The Daily report page (the report_* tables the daily DAG's HiveQL writes) -----------------

def report_sentences(f: Filters) -> pd.DataFrame:
    """Per day and app, the report sentences in reading order: the sessions, the headlines (less the two
    the other reports state), the three most visited pages, the most engaged section, the hour with the
    most errors."""
    return _batch(f"""
        SELECT day, app_id, topic, headline FROM (
          SELECT dt AS day, app_id, 0 AS part, 0 AS n, 'sessions' AS topic, headline
          FROM report_sessions WHERE {f.where()}
          UNION ALL
          SELECT dt, app_id, 1, row_number() OVER (PARTITION BY dt, app_id ORDER BY metric), metric, headline
          FROM report_headlines WHERE {f.where()}
            -- stated by report_sessions and report_page_traffic, in their own sentences
            AND metric NOT IN ('avg_session_min', 'top_page_share')
          UNION ALL
          SELECT dt, app_id, 2, n, 'page traffic', headline FROM (
            SELECT dt, app_id, headline,
                   row_number() OVER (PARTITION BY dt, app_id ORDER BY page_views DESC, page) AS n
            FROM report_page_traffic WHERE {f.where()}) p WHERE n <= 3
          UNION ALL
          SELECT dt, app_id, 3, rank_in_app, 'section engagement', headline
          FROM report_section_engagement WHERE {f.where()} AND rank_in_app = 1
          UNION ALL
          SELECT dt, app_id, 4, n, 'errors', headline FROM (
            SELECT dt, app_id, headline,
                   row_number() OVER (PARTITION BY dt, app_id ORDER BY error_pct DESC, errors DESC, hr) AS n
            FROM report_errors WHERE {f.where()} AND errors > 0) e WHERE n = 1
        ) r ORDER BY day DESC, app_id, part, n""")


def report_totals(f: Filters) -> pd.DataFrame:
    """Per day and app: sessions, page views and errors as the reports state them."""
    return _batch(f"""
        SELECT s.dt AS day, s.app_id, s.sessions, p.page_views, e.errors
        FROM report_sessions s
        LEFT JOIN (SELECT dt, app_id, sum(page_views) AS page_views FROM report_page_traffic
                   WHERE {f.where()} GROUP BY dt, app_id) p ON p.dt = s.dt AND p.app_id = s.app_id
        LEFT JOIN (SELECT dt, app_id, sum(errors) AS errors FROM report_errors
                   WHERE {f.where()} GROUP BY dt, app_id) e ON e.dt = s.dt AND e.app_id = s.app_id
        WHERE {f.where(alias='s')} ORDER BY day, app_id""")


# --- The Pipeline page ------------------------------------------------------------------------

def ledger(f: Filters) -> pd.DataFrame:
    """Per day and app: events the simulators generated, sent, and the collectors accepted or rejected."""
    return _batch(f"""
        SELECT dt AS day, app AS app_id, sum(generated) AS generated, sum(sent) AS sent,
               sum(accepted) AS accepted, sum(rejected) AS rejected
        FROM sim_ledger WHERE dt BETWEEN '{f.days[0]}' AND '{f.days[1]}' AND app IN ({quoted(f.apps)})
        GROUP BY dt, app ORDER BY day, app_id""")


def rejections(f: Filters) -> pd.DataFrame:
    """Per rejection reason: the events the collectors rejected (sim_ledger)."""
    return _batch(f"""
        SELECT reason, sum(n) AS rejected FROM sim_ledger
        LATERAL VIEW explode(rejected_by_reason) r AS reason, n
        WHERE dt BETWEEN '{f.days[0]}' AND '{f.days[1]}' AND app IN ({quoted(f.apps)})
        GROUP BY reason ORDER BY rejected DESC, reason""")


def newest_progress(since_day: date) -> pd.DataFrame:
    """Per streaming query: its newest non-idle progress row since a day (stream_progress)."""
    return _live(f"""
        SELECT query, cast(ts AS STRING) AS ts, input_rps, processed_rps, batch_ms, offsets_behind,
               cast(watermark AS STRING) AS watermark
        FROM (SELECT p.*, row_number() OVER (PARTITION BY query ORDER BY ts DESC) AS newest
              FROM stream_progress p WHERE dt >= '{since_day:%Y-%m-%d}' AND NOT idle) v
        WHERE newest = 1 ORDER BY query""")


def progress_since(since: datetime) -> pd.DataFrame:
    """Every non-idle progress row since a time, oldest first, ``ts`` parsed whatever its precision."""
    history = _live(f"""
        SELECT cast(ts AS STRING) AS ts, query, input_rps, processed_rps, offsets_behind, batch_ms
        FROM stream_progress WHERE dt >= '{since:%Y-%m-%d}' AND NOT idle
        AND ts >= '{since:%Y-%m-%d %H:%M:%S}' ORDER BY ts""")
    # Hive prints a timestamp's fraction only when it has one: "…:40" and "…:40.123" in one column.
    return history.assign(ts=pd.to_datetime(history["ts"], format="ISO8601"))


def reconciliation(f: Filters) -> pd.DataFrame:
    """Per hour and app: the reconciled counts of every source and the verdict (reconciliation)."""
    return _batch(f"""
        SELECT dt AS day, hr AS hour, app_id, generated, accepted, rejected, dead_lettered, archived,
               aggregated, status, message
        FROM reconciliation WHERE dt BETWEEN '{f.days[0]}' AND '{f.days[1]}'
        AND app_id IN ({quoted(f.apps)}) ORDER BY day DESC, hour DESC, app_id""")


# --- The Live page ----------------------------------------------------------------------------

def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def live_paths(apps: tuple[str, ...], newest: datetime, recent: timedelta) -> pd.DataFrame:
    """Per app and previous → current → next page: how often, and the average dwell on the current page,
    for the page views of the last ``recent`` up to the newest minute's end (live_paths)."""
    since, end = newest - recent + timedelta(minutes=1), newest + timedelta(minutes=1)
    return _live(f"""
        SELECT app_id, prev_page, page, next_page, count(*) AS occurrences, avg(dwell_ms) / 1000 AS dwell_s
        FROM live_paths
        WHERE dt BETWEEN '{since:%Y-%m-%d}' AND '{newest:%Y-%m-%d}' AND app_id IN ({quoted(apps)})
          AND page_ts >= '{_ts(since)}' AND page_ts < '{_ts(end)}'
        GROUP BY app_id, prev_page, page, next_page""")


def live_active_users(apps: tuple[str, ...], newest: datetime, history: timedelta) -> pd.DataFrame:
    """Active users (last 5 minutes) per app and page at the newest minute's end; page '*' is the site."""
    since = newest - history
    return _live(f"""
        SELECT app_id, page, active_users FROM live_active_users_latest
        WHERE dt BETWEEN '{since:%Y-%m-%d}' AND '{newest:%Y-%m-%d}' AND app_id IN ({quoted(apps)})
          AND window_end = '{_ts(newest + timedelta(minutes=1))}'
        ORDER BY active_users DESC, app_id, page""")


def live_alerts(apps: tuple[str, ...], newest: datetime) -> pd.DataFrame:
    """The newest 50 alerts of the day before the newest minute and after (live_alerts)."""
    return _live(f"""
        SELECT cast(window_start AS STRING) AS minute, app_id, kind, severity, subject, message
        FROM live_alerts WHERE dt >= '{newest - timedelta(days=1):%Y-%m-%d}' AND app_id IN ({quoted(apps)})
        ORDER BY window_start DESC, kind LIMIT 50""")


# --- Kafka (the events topic on the broker, and how far ingest has read it) -------------------

@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def topic_partitions() -> pd.DataFrame:
    """Per partition of the events topic: the broker's first and end offsets, and the offset up to which
    the streaming application's ingest query has committed (its checkpoint) and the records it has yet
    to read. What a Kafka UI shows for a consumer group; Spark keeps its offsets in its checkpoint."""
    from clickstream.streaming import monitor
    from clickstream.topics import log_bounds

    s = settings()
    try:
        bounds = log_bounds(s, s.topic_events, timeout=5)
    except Exception as exc:  # noqa: BLE001 - unreachable, unknown topic, timeout: shown the same way
        raise DataError(f"Cannot reach Kafka at {s.kafka_bootstrap} for topic {s.topic_events} ({exc}). "
                        "Is the broker running? `make status` shows it.") from exc
    committed = monitor.committed_offsets(s.checkpoint_path(monitor.INGEST_CHECKPOINT), s).get(
        s.topic_events, {})
    rows = [{"partition": p, "first_offset": first, "end_offset": end, "ingested_to": committed.get(p),
             "lag": end - committed.get(p, first)} for p, (first, end) in sorted(bounds.items())]
    return pd.DataFrame(rows, columns=["partition", "first_offset", "end_offset", "ingested_to", "lag"])


# --- HDFS and YARN (their own web services) ------------------------------------------------

@st.cache_data(ttl=10, show_spinner=False)
def cluster_health() -> tuple[cluster.HdfsHealth, cluster.YarnHealth] | None:
    """Return HDFS's and YARN's health (NameNode JMX, ResourceManager API); None when the warehouse is not
    on HDFS (the embedded runtime's local mode runs neither)."""
    s = settings()
    if not s.warehouse_uri.startswith("hdfs://"):
        return None
    return cluster.hdfs_health(s), cluster.yarn_health(s)


# --- Airflow REST API ---------------------------------------------------------------------

@st.cache_data(ttl=30, show_spinner=False)
def last_dag_runs() -> pd.DataFrame:
    """Return each DAG's newest run and newest successful run, from the Airflow REST API."""
    s = settings()
    api = AirflowApi(s.airflow_api_url, s.airflow_api_user, read_secret("CLICKSTREAM_AIRFLOW_API_PASSWORD"))
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
