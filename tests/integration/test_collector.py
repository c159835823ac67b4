"""The collector against the real broker: routing, enrichment, error statuses, fuzzing."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, date, datetime, timedelta

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clickstream.contracts import event_schema, rejection_reason
from simulators.app import create_app
from simulators.generate import day_sessions
from simulators.sites import SITES
from tests.support.kafka import create_topics, read_topic

pytestmark = pytest.mark.integration

UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " \
     "Version/18.1 Mobile/15E148 Safari/604.1"


@pytest.fixture(scope="module")
def collector(broker, tmp_path_factory):
    """A shop app with private topics, talking to the real broker."""
    events_topic, dlq_topic = create_topics(broker, 6, 1)
    ledger_dir = tmp_path_factory.mktemp("ledger")
    app = create_app("shop", test_config={
        "KAFKA_BOOTSTRAP": broker, "TOPIC_EVENTS": events_topic, "TOPIC_DLQ": dlq_topic,
        "LEDGER_URI": ledger_dir.as_uri(), "SPILL_DIR": str(ledger_dir), "LATENCY_SCALE": 0,
    })  # fmt: skip
    yield app, events_topic, dlq_topic
    app.extensions["clickstream.shutdown"]()


def recent_events(n: int, seed: str, malformed_share: float = 0.0) -> list[dict]:
    """Generate n events of yesterday (valid for the collector's clock)."""
    rng = random.Random(seed)
    day = datetime.now(UTC).date() - timedelta(days=1)
    return [e for b in day_sessions(SITES["shop"], day, n, rng, malformed_share=malformed_share)
            for e in b.events]


def post(client, payload, **headers):
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return client.post("/collect", data=body, content_type="application/json",
                       headers={"User-Agent": UA, "X-Forwarded-For": "49.207.12.34", **headers})


def test_valid_events_go_to_events_topic_and_invalid_to_dlq_with_reasons(collector):
    app, events_topic, dlq_topic = collector
    events = recent_events(300, "routing", malformed_share=0.2)
    expected_bad = {i: rejection_reason(e) for i, e in enumerate(events) if rejection_reason(e)}
    assert 30 < len(expected_bad) < 100
    client = app.test_client()
    resp = post(client, events)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["accepted"] == 300 - len(expected_bad)
    assert body["rejected"] == len(expected_bad)
    assert {r["index"]: r["reason"] for r in body["rejected_events"]} == expected_bad
    assert app.extensions["clickstream.sink"].flush(15) == 0

    produced = read_topic(app.config["KAFKA_BOOTSTRAP"], events_topic)
    good = [e for i, e in enumerate(events) if i not in expected_bad]
    assert sorted(r["value"]["event_id"] for r in produced) == sorted(e["event_id"] for e in good)
    by_id = {r["value"]["event_id"]: r for r in produced}
    for event in good:
        record = by_id[event["event_id"]]
        assert record["key"] == event["session_id"]
        value = record["value"]
        assert {k: value[k] for k in event} == event  # client fields untouched
        assert value["ip"] == "49.207.12.0"
        assert (value["device_type"], value["browser"], value["os"], value["is_bot"]) == \
            ("mobile", "Mobile Safari", "iOS", False)
    # Keyed by session: each session's events share one partition.
    partitions: dict[str, set[int]] = {}
    for r in produced:
        partitions.setdefault(r["key"], set()).add(r["partition"])
    assert all(len(p) == 1 for p in partitions.values())

    dlq = read_topic(app.config["KAFKA_BOOTSTRAP"], dlq_topic)
    assert sorted((r["value"]["reason"], orjson.dumps(r["value"]["event"], option=orjson.OPT_SORT_KEYS))
                  for r in dlq) == sorted(
        (reason, orjson.dumps(events[i], option=orjson.OPT_SORT_KEYS)) for i, reason in expected_bad.items()
    )
    assert all(r["value"]["app_id"] == "shop" and r["value"]["ip"] == "49.207.12.0" for r in dlq)


def test_bad_requests_get_4xx_and_produce_nothing(collector):
    app, _, _ = collector
    client = app.test_client()
    sink = app.extensions["clickstream.sink"]
    before = sink.produced
    assert post(client, b"{not json").status_code == 400
    assert "malformed JSON" in post(client, b"[1,").get_json()["error"]
    assert post(client, {"event_id": "x"}).status_code == 400  # not an array
    assert post(client, b"x" * (1024 * 1024 + 1)).status_code == 413
    assert post(client, [{}] * 1001).status_code == 413
    assert sink.produced == before


def test_events_of_another_site_are_rejected(collector):
    app, _, _ = collector
    event = copy.deepcopy(recent_events(1, "other-site")[0])
    event["app_id"] = "news"
    body = post(app.test_client(), [event]).get_json()
    assert body["reasons"] == {"invalid:app_id": 1}


def test_schema_endpoint_serves_the_contract(collector):
    app, _, _ = collector
    assert app.test_client().get("/schema").get_json() == event_schema()


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=8)


@st.composite
def near_valid_events(draw, base):
    """Valid events with one or more fields replaced, removed or added."""
    event = dict(draw(st.sampled_from(base)))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        field = draw(st.sampled_from(sorted(event) or ["x"]))
        if action == "replace":
            event[field] = draw(json_values)
        elif action == "remove":
            event.pop(field, None)
        else:
            event[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
    return event


FUZZ_BASE = recent_events(40, "fuzz-base")


def _dumps(value) -> bytes:
    # The standard library also writes integers beyond 64 bits, which orjson refuses.
    return json.dumps(value).encode()


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(
    st.binary(max_size=200),
    json_values.map(_dumps),
    st.lists(near_valid_events(FUZZ_BASE), min_size=1, max_size=5).map(_dumps),
    st.lists(json_values, max_size=5).map(_dumps),
))
def test_fuzzed_payloads_never_5xx(collector, payload):
    app, _, _ = collector
    resp = post(app.test_client(), payload)
    assert resp.status_code < 500, resp.get_data(as_text=True)
    assert resp.status_code in (200, 400, 413)


def test_after_fuzzing_only_valid_events_are_on_the_events_topic(collector):
    """Runs after the fuzz test (file order): every record there satisfies Event v1."""
    app, events_topic, _ = collector
    assert app.extensions["clickstream.sink"].flush(15) == 0
    schema = {k: v for k, v in event_schema().items() if k != "x-enrichment"}
    validator = jsonschema.Draft202012Validator(schema)
    records = read_topic(app.config["KAFKA_BOOTSTRAP"], events_topic)
    assert len(records) > 250  # the routing test's events, plus fuzzed ones that stayed valid
    extra = set(event_schema()["x-enrichment"])
    for r in records:
        value = dict(r["value"])
        assert extra <= set(value)
        client_part = {k: v for k, v in value.items() if k not in extra}
        assert validator.is_valid(client_part), client_part
        assert rejection_reason(client_part) is None
    assert date.fromisoformat(records[0]["value"]["event_time"][:10]) <= datetime.now(UTC).date()
