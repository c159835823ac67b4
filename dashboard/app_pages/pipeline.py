"""Pipeline health: what the simulators sent and the collector rejected, the events topic's partitions and
the stream's lag on each, HDFS and YARN, DAGs, reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.errors import DataError
from dashboard.hive_session import settings
from dashboard.live_store import newest_live_minute
from dashboard.pipeline_data import (
    cluster_health,
    last_dag_runs,
    ledger,
    newest_progress,
    progress_since,
    reconciliation,
    rejections,
    topic_partitions,
)
from dashboard.ui import load, load_section, no_data, pct, sidebar_filters, since_text, table

f = sidebar_filters(with_page=False)
st.title("Pipeline health")
st.caption(f"{', '.join(f.apps)} · {f.start} to {f.end} (UTC)")

# --- Ingestion: the simulators' ledger (ground truth) ---------------------------------------
st.subheader("Events generated, accepted and rejected")
counts = load_section(ledger, f)
if counts is not None and not no_data(counts, "simulator counts", "The simulators write their ledger as "
                                       "they send; the hourly DAG registers its partitions."):
    total = counts[["generated", "accepted", "rejected"]].sum()
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Generated", f"{total['generated']:,}")
    c2.metric("Accepted", f"{total['accepted']:,}")
    c3.metric("Rejected (dead-letter topic)", f"{total['rejected']:,}")
    handled = total["accepted"] + total["rejected"]
    c4.metric("DLQ rate", pct(total["rejected"] / handled if handled else None))
    table(counts, "ledger by day")
    reasons = load(rejections, f)
    if not reasons.empty:
        st.altair_chart(alt.Chart(reasons).mark_bar().encode(
            x=alt.X("rejected:Q", title="events rejected"), y=alt.Y("reason:N", sort="-x", title=None),
            tooltip=["reason", "rejected"]), width="stretch")
        table(reasons, "rejections by reason")

# --- Streaming: lag and freshness --------------------------------------------------------
st.subheader("Streaming lag and freshness")
now = datetime.now(UTC)
progress = load_section(newest_progress, (now - timedelta(days=1)).date())
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
    history = load(progress_since, since)
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

# --- Kafka: the events topic's partitions ---------------------------------------------------
st.subheader(f"Events topic `{settings().topic_events}`: partitions and ingest lag")
partitions = load_section(topic_partitions)
if partitions is not None and not no_data(partitions, "partitions", "The stack creates the topic at start."):
    behind = int(partitions["lag"].sum())
    c1, c2, c3 = st.columns(3)
    c1.metric("Records on the topic (end offsets)", f"{int(partitions['end_offset'].sum()):,}")
    c2.metric("Records ingest has yet to read", f"{behind:,}")
    c3.metric("Partitions", f"{len(partitions):,}")
    if partitions["ingested_to"].isna().all():
        st.info("The streaming application has not committed a micro-batch yet (no checkpoint): the lag is "
                "every record the broker holds.", icon=":material/hourglass_empty:")
    st.altair_chart(alt.Chart(partitions).mark_bar().encode(
        x=alt.X("partition:O"), y=alt.Y("lag:Q", title="records behind the end offset"),
        tooltip=["partition", "first_offset", "end_offset", "ingested_to", "lag"]), width="stretch")
    table(partitions, "topic partitions")

# --- HDFS and YARN ----------------------------------------------------------------------------
health = cluster_health()
if health is not None:
    st.subheader("HDFS and YARN")
    hdfs, yarn = health
    for name, part in (("HDFS", hdfs), ("YARN", yarn)):
        if part.healthy:
            st.success(f"{name}: {part.line()}", icon=":material/check_circle:")
        else:
            st.error(f"{name}: {part.line()}", icon=":material/error:")
    if hdfs.reachable:
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("DataNodes live", hdfs.live_datanodes)
        c2.metric("DataNodes stale or dead", hdfs.stale_datanodes + hdfs.dead_datanodes)
        c3.metric("Under-replicated blocks", f"{hdfs.under_replicated_blocks:,}")
        c4.metric("Files", f"{hdfs.files:,}")
    if yarn.reachable:
        table(pd.DataFrame(sorted(yarn.nodes.items()), columns=["node_manager", "state"]), "node managers")

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
    checks = reconciliation(f)
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
