"""The loaders of the Pipeline page: the ledger, the rejections, the streaming progress and the
reconciliation (HiveServer2), the events topic (Kafka), HDFS and YARN (their web services) and the DAG runs
(Airflow's REST API)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import streamlit as st

from clickstream.secrets import read_secret
from dashboard.errors import DataError
from dashboard.filters import Filters, quoted
from dashboard.hive_session import LIVE_TTL, batch_query, live_query, settings
from ops.airflow_api import AirflowApi, AirflowApiError
from ops.cluster_health import HdfsHealth, YarnHealth, hdfs_health, yarn_health

# --- The Pipeline page ------------------------------------------------------------------------


def ledger(f: Filters) -> pd.DataFrame:
    """Per day and app: events the simulators generated, sent, and the collectors accepted or rejected."""
    return batch_query(f"""
        SELECT dt AS day, app AS app_id, sum(generated) AS generated, sum(sent) AS sent,
               sum(accepted) AS accepted, sum(rejected) AS rejected
        FROM sim_ledger WHERE dt BETWEEN '{f.days[0]}' AND '{f.days[1]}' AND app IN ({quoted(f.apps)})
        GROUP BY dt, app ORDER BY day, app_id""")


def rejections(f: Filters) -> pd.DataFrame:
    """Per rejection reason: the events the collectors rejected (sim_ledger)."""
    return batch_query(f"""
        SELECT reason, sum(n) AS rejected FROM sim_ledger
        LATERAL VIEW explode(rejected_by_reason) r AS reason, n
        WHERE dt BETWEEN '{f.days[0]}' AND '{f.days[1]}' AND app IN ({quoted(f.apps)})
        GROUP BY reason ORDER BY rejected DESC, reason""")


def newest_progress(since_day: date) -> pd.DataFrame:
    """Per streaming query: its newest non-idle progress row since a day (stream_progress)."""
    return live_query(f"""
        SELECT query, cast(ts AS STRING) AS ts, input_rps, processed_rps, batch_ms, offsets_behind,
               cast(watermark AS STRING) AS watermark
        FROM (SELECT p.*, row_number() OVER (PARTITION BY query ORDER BY ts DESC) AS newest
              FROM stream_progress p WHERE dt >= '{since_day:%Y-%m-%d}' AND NOT idle) v
        WHERE newest = 1 ORDER BY query""")


def progress_since(since: datetime) -> pd.DataFrame:
    """Every non-idle progress row since a time, oldest first, ``ts`` parsed whatever its precision."""
    history = live_query(f"""
        SELECT cast(ts AS STRING) AS ts, query, input_rps, processed_rps, offsets_behind, batch_ms
        FROM stream_progress WHERE dt >= '{since:%Y-%m-%d}' AND NOT idle
        AND ts >= '{since:%Y-%m-%d %H:%M:%S}' ORDER BY ts""")
    # Hive prints a timestamp's fraction only when it has one: "…:40" and "…:40.123" in one column.
    return history.assign(ts=pd.to_datetime(history["ts"], format="ISO8601"))


def reconciliation(f: Filters) -> pd.DataFrame:
    """Per hour and app: the reconciled counts of every source and the verdict (reconciliation)."""
    return batch_query(f"""
        SELECT dt AS day, hr AS hour, app_id, generated, accepted, rejected, dead_lettered, archived,
               aggregated, status, message
        FROM reconciliation WHERE dt BETWEEN '{f.days[0]}' AND '{f.days[1]}'
        AND app_id IN ({quoted(f.apps)}) ORDER BY day DESC, hour DESC, app_id""")


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
def cluster_health() -> tuple[HdfsHealth, YarnHealth] | None:
    """Return HDFS's and YARN's health (NameNode JMX, ResourceManager API); None when the warehouse is not
    on HDFS (the embedded runtime's local mode runs neither)."""
    s = settings()
    if not s.warehouse_uri.startswith("hdfs://"):
        return None
    return hdfs_health(s), yarn_health(s)


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
