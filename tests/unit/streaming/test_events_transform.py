"""Spark-side validation gives the collector's verdicts, and typed values, on the same records."""

from __future__ import annotations

import random
from datetime import date

import orjson
import pytest

from clickstream.contracts import parse_time, rejection_reason
from clickstream.streaming.events import bad_events, transform_parse, valid_events
from simulators.enrich import enrichment
from simulators.generate import day_sessions
from simulators.population import HUMAN_AGENTS
from simulators.sites import SITES

EXTRA = enrichment("49.207.12.34", HUMAN_AGENTS[0][1], "2026-11-01T23:59:00.000Z")
NOW = parse_time(EXTRA["received_time"])


@pytest.fixture(scope="module")
def records():
    rng = random.Random("spark-validation")
    events = [e for site in SITES.values()
              for b in day_sessions(site, date(2026, 11, 1), 400, rng, malformed_share=0.25)
              for e in b.events if e.get("event_time", "") < "2026-11-01T23:59"]
    return [(e, orjson.dumps(e | EXTRA).decode()) for e in events]


def test_reasons_match_the_collector(spark, records):
    expected = [rejection_reason(e, NOW) for e, _ in records]
    assert 100 < sum(r is not None for r in expected) < 500
    df = spark.createDataFrame([(i, v) for i, (_, v) in enumerate(records)], "i long, value string")
    got = {r.i: r._reason for r in transform_parse(df).select("i", "_reason").collect()}
    assert [got[i] for i in range(len(records))] == expected


def test_valid_events_keep_their_values_and_get_dt_hr(spark, records):
    good = [(e | EXTRA, v) for e, v in records if rejection_reason(e, NOW) is None][:300]
    df = spark.createDataFrame([(v,) for _, v in good], "value string")
    rows = {r.event_id: r.asDict() for r in valid_events(transform_parse(df)).collect()}
    assert len(rows) == len(good)
    for event, _ in good:
        row = rows[event["event_id"]]
        assert {k: row[k] for k in event} == event
        assert row["dt"] == event["event_time"][:10]
        assert row["hr"] == int(event["event_time"][11:13])
        assert row["event_ts"].isoformat()[:19] == event["event_time"][:19]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not json", "not_an_object"),
        ("[1, 2]", "not_an_object"),
        ("{}", "missing:event_id"),
    ],
)
def test_garbage_is_rejected_not_fatal(spark, records, value, reason):
    df = spark.createDataFrame([(value,)], "value string")
    bad = bad_events(transform_parse(df)).collect()
    assert [(r.raw, r.reason) for r in bad] == [(value, reason)]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"received_time": None}, "invalid:received_time"),
        ({"is_bot": "yes"}, "invalid:is_bot"),
        ({"visit_number": 2.5}, "invalid:visit_number"),
        ({"device_type": "toaster"}, "invalid:device_type"),
        ({"event_time": "2026-11-02T01:00:00.000Z"}, "event_time_in_future"),
    ],
)
def test_enriched_fields_are_checked_too(spark, records, change, reason):
    event = next(e for e, _ in records if rejection_reason(e, NOW) is None) | EXTRA | change
    df = spark.createDataFrame([(orjson.dumps(event).decode(),)], "value string")
    assert [r.reason for r in bad_events(transform_parse(df)).collect()] == [reason]
