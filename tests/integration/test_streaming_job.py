"""End to end: simulator → collector → broker → streaming job (spark-submit) → raw_events via HiveServer2."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import orjson
import requests
from confluent_kafka import Producer

from clickstream.hive import execute
from clickstream.settings import REPO_ROOT
from clickstream.streaming.health import progress_sql
from clickstream.streaming.monitor import read_progress
from tests.support.kafka import read_topic
from tests.support.streaming_checks import live_metrics_equal_a_recomputation, paths_follow_the_sessions
from tests.support.streaming_job import failure, run_job

JOB = REPO_ROOT / "include" / "spark_jobs" / "clickstream_streaming.py"


def hive_rows(settings, sql: str) -> list[tuple]:
    return execute(settings, sql)


def test_raw_events_hold_exactly_the_accepted_events(sites, hiveserver2, settings):
    day = datetime.now(UTC).date() - timedelta(days=2)
    resp = requests.post(f"{sites['news']}/simulation/backfill", timeout=10, json={
        "start_date": day.isoformat(), "events_per_day": 2500, "seed": 4242})  # fmt: skip
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    deadline = datetime.now(UTC) + timedelta(minutes=3)
    while datetime.now(UTC) < deadline:
        jobs = requests.get(f"{sites['news']}/simulation", timeout=10).json()["backfills"]
        if next(j for j in jobs if j["id"] == job_id)["state"] == "done":
            break
        time.sleep(1)
    assert requests.post(f"{sites['news']}/simulation/flush", timeout=30).json()["outstanding"] == 0
    # A record no collector would let through, as a rogue producer might write it, and 50 accepted
    # events written again, as a producer's retry would: each is archived and counted once.
    rogue = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    rogue.produce(settings.topic_events, key=b"rogue", value=b"{not json")
    accepted = [r for r in read_topic(settings.kafka_bootstrap, settings.topic_events)
                if isinstance(r["value"], dict)]
    for record in accepted[:50]:
        rogue.produce(settings.topic_events, key=record["key"], value=orjson.dumps(record["value"]))
    assert rogue.flush(10) == 0
    del rogue

    first = run_job(settings, "--mode", "available-now")
    assert first.returncode == 0, failure(first)

    on_topic = [r["value"] for r in read_topic(settings.kafka_bootstrap, settings.topic_events)
                if isinstance(r["value"], dict)]
    ids = [e["event_id"] for e in on_topic]
    expected = sorted(set(ids))
    assert len(expected) > 2400 and len(ids) == len(expected) + 50  # ~1 % were rejected
    archived = sorted(r[0] for r in hive_rows(settings, "SELECT event_id FROM raw_events"))
    assert archived == expected
    by_hour = dict(hive_rows(settings, "SELECT concat(dt, ' ', hr), count(*) FROM raw_events "
                                       "GROUP BY dt, hr"))
    topic_hours: dict[str, int] = {}
    for e in {e["event_id"]: e for e in on_topic}.values():
        key = f"{e['event_time'][:10]} {int(e['event_time'][11:13])}"
        topic_hours[key] = topic_hours.get(key, 0) + 1
    assert by_hour == topic_hours
    assert hive_rows(settings, "SELECT reason, raw FROM bad_events") == \
        [("not_an_object", "{not json")]

    live_metrics_equal_a_recomputation(settings)
    # The Live page's store holds the same values for its recent windows (the sites' last hour).
    live_metrics_equal_a_recomputation(settings, store=True, min_windows=1)
    paths_follow_the_sessions(settings)

    # The health check's query, run through HiveServer2, returns what the application recorded.
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    checked = sorted(((q, n, behind) for q, _, n, behind in
                      hive_rows(settings, progress_sql(settings.hive_database, since))), key=repr)
    written = sorted(((r["query"], r["input_rows"], r["offsets_behind"]) for r in read_progress(settings)),
                     key=repr)
    assert checked == written
    # Spark's Kafka source reports the log end: the application's one query (one read of the topic)
    # read all of it.
    assert {q for q, n, behind in checked if behind == 0 and n} == {"ingest"}


# The streaming DAG runs this application through spark-submit under the scheduler, continuously,
# in tests/integration/test_day_in_the_life.py (its archive reconciled exactly, per app and hour);
# restarts from the checkpoint lose and duplicate nothing in test_streaming_recovery.py.
