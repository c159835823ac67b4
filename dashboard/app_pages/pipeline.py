"""Pipeline health: what the simulators sent and the collector rejected, stream lag, DAGs, reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.data import DataError, batch_query, last_dag_runs, live_query, newest_live_minute, quoted
from dashboard.ui import load, load_section, no_data, pct, sidebar_filters, since_text, table

f = sidebar_filters(with_page=False)
st.title("Pipeline health")
st.caption(f"{', '.join(f.apps)} · {f.start} to {f.end} (UTC)")

# --- Ingestion: the simulators' ledger (ground truth) ---------------------------------------
st.subheader("Events generated, accepted and rejected")
ledger = load_section(batch_query, f"""
    SELECT dt AS day, app AS app_id, sum(generated) AS generated, sum(sent) AS sent,
           sum(accepted) AS accepted, sum(rejected) AS rejected
    FROM sim_ledger WHERE dt BETWEEN '{f.days[0]}' AND '{f.days[1]}' AND app IN ({quoted(f.apps)})
    GROUP BY dt, app ORDER BY day, app_id""")
if ledger is not None and not no_data(ledger, "simulator counts", "The simulators write their ledger as "
                                       "they send; the hourly DAG registers its partitions."):
    total = ledger[["generated", "accepted", "rejected"]].sum()
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Generated", f"{total['generated']:,}")
    c2.metric("Accepted", f"{total['accepted']:,}")
    c3.metric("Rejected (dead-letter topic)", f"{total['rejected']:,}")
    handled = total["accepted"] + total["rejected"]
    c4.metric("DLQ rate", pct(total["rejected"] / handled if handled else None))
    table(ledger, "ledger by day")
    reasons = load(batch_query, f"""
        SELECT reason, sum(n) AS rejected FROM sim_ledger
        LATERAL VIEW explode(rejected_by_reason) r AS reason, n
        WHERE dt BETWEEN '{f.days[0]}' AND '{f.days[1]}' AND app IN ({quoted(f.apps)})
        GROUP BY reason ORDER BY rejected DESC, reason""")
    if not reasons.empty:
        st.altair_chart(alt.Chart(reasons).mark_bar().encode(
            x=alt.X("rejected:Q", title="events rejected"), y=alt.Y("reason:N", sort="-x", title=None),
            tooltip=["reason", "rejected"]), width="stretch")
        table(reasons, "rejections by reason")

# --- Streaming: lag and freshness --------------------------------------------------------
st.subheader("Streaming lag and freshness")
now = datetime.now(UTC)
progress = load_section(live_query, f"""
    SELECT query, cast(ts AS STRING) AS ts, input_rps, processed_rps, batch_ms, offsets_behind,
           cast(watermark AS STRING) AS watermark
    FROM (SELECT p.*, row_number() OVER (PARTITION BY query ORDER BY ts DESC) AS newest
          FROM stream_progress p WHERE dt >= '{now - timedelta(days=1):%Y-%m-%d}' AND NOT idle) v
    WHERE newest = 1 ORDER BY query""")
if progress is not None and not no_data(progress, "streaming progress in the last day",
                                         "Start the `clickstream_streaming` DAG."):
    newest = load_section(newest_live_minute, f.apps)
    ingest = progress[progress["query"] == "ingest"]
    c1, c2, c3 = st.columns(3)
    behind = int(ingest["offsets_behind"].iloc[0]) if not ingest.empty and pd.notna(
        ingest["offsets_behind"].iloc[0]) else None
    c1.metric("Ingest lag (records behind the log end)", "–" if behind is None else f"{behind:,}")
    c2.metric("Ingest rate (events/s)", "–" if ingest.empty else f"{ingest['processed_rps'].iloc[0]:,.0f}")
    age = now - newest - timedelta(minutes=1) if newest else None
    c3.metric("Live metrics behind now", "–" if age is None else since_text(age))
    progress["seconds_since_report"] = [(now - datetime.fromisoformat(t).replace(tzinfo=UTC)).total_seconds()
                                        for t in progress["ts"]]
    table(progress, "streaming queries")
    since = datetime.fromisoformat(max(progress["ts"])) - timedelta(hours=1)
    history = load(live_query, f"""
        SELECT cast(ts AS STRING) AS ts, query, input_rps, processed_rps, offsets_behind, batch_ms
        FROM stream_progress WHERE dt >= '{since:%Y-%m-%d}' AND NOT idle
        AND ts >= '{since:%Y-%m-%d %H:%M:%S}' ORDER BY ts""")
    # Hive prints a timestamp's fraction only when it has one: "…:40" and "…:40.123" in one column.
    history["ts"] = pd.to_datetime(history["ts"], format="ISO8601")
    left, right = st.columns(2)
    left.caption("Rows read per second, last hour of reports")
    left.altair_chart(alt.Chart(history).mark_line().encode(
        x=alt.X("ts:T", title=None), y=alt.Y("processed_rps:Q", title="rows/s"),
        color=alt.Color("query:N", title="query"), tooltip=["ts:T", "query", "input_rps", "processed_rps"]),
        width="stretch")
    right.caption("Ingest: records behind the log end")
    right.altair_chart(alt.Chart(history[history["query"] == "ingest"]).mark_area(opacity=0.6).encode(
        x=alt.X("ts:T", title=None), y=alt.Y("offsets_behind:Q", title="records behind"),
        tooltip=["ts:T", "offsets_behind", "batch_ms"]), width="stretch")

# --- Airflow ---------------------------------------------------------------------------------
st.subheader("DAG runs (Airflow REST API)")
try:
    runs = last_dag_runs()
except DataError as exc:
    st.warning(str(exc), icon=":material/cloud_off:")
else:
    if not no_data(runs, "DAGs", "The DAG processor lists them a few seconds after Airflow starts."):
        failing = runs[runs["last_state"] == "failed"]
        if failing.empty:
            st.success("The newest run of every DAG did not fail.", icon=":material/check_circle:")
        else:
            st.error(f"Newest run failed: {', '.join(failing['dag_id'])}", icon=":material/error:")
        table(runs, "dag runs")

# --- Reconciliation ------------------------------------------------------------------------
st.subheader("Reconciliation")
try:
    checks = batch_query(f"""
        SELECT dt AS day, hr AS hour, app_id, generated, accepted, rejected, dead_lettered, archived,
               aggregated, status, message
        FROM reconciliation WHERE dt BETWEEN '{f.days[0]}' AND '{f.days[1]}'
        AND app_id IN ({quoted(f.apps)}) ORDER BY day DESC, hour DESC, app_id""")
except DataError:
    checks = None
if checks is None or checks.empty:
    st.info("No reconciliation results for these days yet: the hourly `clickstream_reconciliation` DAG "
            "compares the ledger, the dead-letter topic, raw_events and the hourly aggregates.",
            icon=":material/hourglass_empty:")
else:
    bad = checks[checks["status"] != "ok"]
    if bad.empty:
        st.success(f"All {len(checks)} reconciled hours match.", icon=":material/check_circle:")
    else:
        st.error(f"{len(bad)} of {len(checks)} hours do not reconcile.", icon=":material/error:")
    table(checks, "reconciliation")
