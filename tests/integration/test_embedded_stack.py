"""Smoke tests of the embedded runtime: real broker, HiveServer2 and Airflow processes."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from clickstream.hive import execute
from clickstream.topics import topic_specs
from embedded.environment import VENV_BIN


def test_broker_healthy_with_platform_topics(stack, broker, settings):
    status = {s.name: s for s in stack.status(["broker"])}
    assert status["broker"].healthy and status["broker"].state == "RUNNING"
    topics = AdminClient({"bootstrap.servers": broker}).list_topics(timeout=10).topics
    partitions = {t: len(topics[t].partitions) for t in topic_specs(settings)}
    assert partitions == {
        settings.topic_events: 6,
        settings.topic_dlq: 1,
        settings.topic_alerts: 1,
    }


def test_produce_consume_round_trip(broker):
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker})
    admin.create_topics([NewTopic(topic, 6, 1)])[topic].result(timeout=10)

    sent = [(f"session-{i % 17}", f"event-{i}") for i in range(500)]
    errors: list = []
    producer = Producer(
        {"bootstrap.servers": broker, "acks": "all", "enable.idempotence": True}
    )
    for key, value in sent:
        producer.produce(topic, key=key, value=value,
                         on_delivery=lambda err, _msg: err and errors.append(err))
        producer.poll(0)
    assert producer.flush(15) == 0
    assert errors == []

    consumer = Consumer({
        "bootstrap.servers": broker, "group.id": "unused", "enable.auto.commit": False,
        "enable.partition.eof": True,
    })  # fmt: skip
    consumer.assign([TopicPartition(topic, p, 0) for p in range(6)])
    got: list[tuple[str, str, int]] = []
    eof: set[int] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            eof.add(msg.partition())
            if len(eof) == 6 and len(got) >= len(sent):
                break
            continue
        got.append((msg.key().decode(), msg.value().decode(), msg.partition()))
    consumer.close()

    assert sorted((k, v) for k, v, _ in got) == sorted(sent)
    # Keyed by session: one partition per key, and per-key order kept.
    partitions_of_key: dict[str, set[int]] = {}
    for key, _, part in got:
        partitions_of_key.setdefault(key, set()).add(part)
    assert all(len(p) == 1 for p in partitions_of_key.values())
    for key in partitions_of_key:
        values = [v for k, v, _ in got if k == key]
        assert values == [v for k, v in sent if k == key]


def _pyhive_rows(settings, sql: str) -> list[tuple]:
    return execute(settings, sql)


def _beeline_rows(settings, sql: str, tmp_path) -> list[list[str]]:
    """Run a query through beeline and return its rows.

    beeline interleaves a progress line ("null", carriage returns) with the results on
    stdout, so each row is tagged with a marker column and picked out by it.
    """
    script = tmp_path / "query.sql"
    script.write_text(f"SELECT 'ROW~', q.* FROM ({sql}) q;\n")
    result = subprocess.run(
        [str(VENV_BIN / "beeline"), "-u", settings.hive_jdbc_url, "--silent=true",
         "--showHeader=false", "--outputformat=csv2", "-f", str(script)],
        capture_output=True, text=True, timeout=120, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return [line.split(",") for line in re.findall(r"ROW~,([^\r\n]*)", result.stdout)]


def test_hiveserver2_external_partitioned_table(hiveserver2, settings, stack, tmp_path):
    assert {s.name: s.healthy for s in stack.status(["hiveserver2"])} == {"hiveserver2": True}
    location = settings.table_path("smoke_events")
    # Write Parquet straight into partition directories, as the Spark jobs do.
    rows = {"2026-11-01": [("a", 3), ("b", 5)], "2026-11-02": [("a", 7)]}
    for dt, values in rows.items():
        part = location.removeprefix("file://") + f"/dt={dt}"
        table = pa.table({"page": [p for p, _ in values], "views": [v for _, v in values]})
        os.makedirs(part, exist_ok=True)
        pq.write_table(table, f"{part}/part-0.parquet")

    _pyhive_rows(settings, "DROP TABLE IF EXISTS smoke_events")
    _pyhive_rows(
        settings,
        "CREATE EXTERNAL TABLE IF NOT EXISTS smoke_events (page STRING, views BIGINT) "
        f"PARTITIONED BY (dt STRING) STORED AS PARQUET LOCATION '{location}'",
    )
    _pyhive_rows(settings, "MSCK REPAIR TABLE smoke_events")
    sql = "SELECT dt, page, SUM(views) FROM smoke_events GROUP BY dt, page ORDER BY dt, page"

    expected = [("2026-11-01", "a", 3), ("2026-11-01", "b", 5), ("2026-11-02", "a", 7)]
    assert _pyhive_rows(settings, sql) == expected
    assert sorted(_beeline_rows(settings, sql, tmp_path)) == [[d, p, str(v)] for d, p, v in expected]


def test_one_hiveserver2_session_sees_files_added_to_a_known_partition(hiveserver2, settings):
    """The live tables get a file per micro-batch in the day's partition: a connection kept open (a
    poller, a dashboard) must see each one, not the partition's files as its first query listed them."""
    from clickstream.hive import connect

    location = settings.table_path("appended_events").removeprefix("file://")
    part = f"{location}/dt=2026-11-03"
    os.makedirs(part, exist_ok=True)
    pq.write_table(pa.table({"views": [1, 2]}), f"{part}/batch-1.parquet")
    _pyhive_rows(settings, "DROP TABLE IF EXISTS appended_events")
    _pyhive_rows(settings, "CREATE EXTERNAL TABLE appended_events (views BIGINT) PARTITIONED BY (dt STRING) "
                           f"STORED AS PARQUET LOCATION 'file://{location}'")
    _pyhive_rows(settings, "ALTER TABLE appended_events ADD PARTITION (dt='2026-11-03')")
    conn = connect(settings)
    try:
        cursor = conn.cursor()
        seen = []
        for batch, views in ((2, [4]), (3, [8, 16])):
            cursor.execute("SELECT SUM(views) FROM appended_events WHERE dt = '2026-11-03'")
            seen.append(cursor.fetchall()[0][0])
            pq.write_table(pa.table({"views": views}), f"{part}/batch-{batch}.parquet")
        cursor.execute("SELECT SUM(views) FROM appended_events WHERE dt = '2026-11-03'")
        seen.append(cursor.fetchall()[0][0])
    finally:
        conn.close()
    assert seen == [3, 7, 31]


# Airflow's components, its login and the dashboard's reading of its DAG runs are checked on the
# whole platform, as `make run` starts it: tests/integration/test_day_in_the_life.py.
