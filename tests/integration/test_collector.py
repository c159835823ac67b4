"""The collector against the real broker: routing, enrichment, error statuses, fuzzing."""

from __future__ import annotations

import copy
import os
import random
from datetime import UTC, date, datetime

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.load import settled_day
from clickstream.contracts import event_schema, hour_key, rejection_reason
from simulators.app import create_app
from simulators.generate import day_sessions
from simulators.ledger import SIMULATED_HEADER
from simulators.sites import SITES
from tests.support.fuzz import dumps, json_values, near_valid_events
from tests.support.kafka import create_topics, read_topic

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
    """Generate n events of a settled day (all in the past, valid for the collector's clock)."""
    rng = random.Random(seed)
    day = settled_day()
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


def test_bad_requests_get_4xx_and_are_kept_in_the_dlq_with_their_reason(collector):
    """No event is produced; each refused request is one dead-letter record and one ledger count."""
    app, events_topic, dlq_topic = collector
    client = app.test_client()
    ledger = app.extensions["clickstream.ledger"]
    before_events = len(read_topic(app.config["KAFKA_BOOTSTRAP"], events_topic))
    before = ledger.totals()
    huge = b"[" + b'"x",' * 300_000 + b'"x"]'  # 1.2 MB: over the 1 MiB limit
    sent = [
        (post(client, b"{not json"), 400, "request:malformed_json", b"{not json"),
        (post(client, {"event_id": "x"}), 400, "request:not_an_array", b'{"event_id":"x"}'),
        (post(client, [{}] * 1001), 413, "request:too_many_events", orjson.dumps([{}] * 1001)),
        (post(client, huge), 413, "request:body_too_large", huge),
        (client.post("/collect", data=b"a=1", content_type="application/x-www-form-urlencoded",
                     headers={"User-Agent": UA, "X-Forwarded-For": "49.207.12.34"}),
         415, "request:content_type", b"a=1"),
    ]
    for resp, status, _, _ in sent:
        assert resp.status_code == status, resp.get_data(as_text=True)
        assert resp.get_json()["error"]
    assert "malformed JSON" in sent[0][0].get_json()["error"]
    assert app.extensions["clickstream.sink"].flush(15) == 0

    assert len(read_topic(app.config["KAFKA_BOOTSTRAP"], events_topic)) == before_events
    # The earlier tests' dead letters are rejected events; these are the only refused requests.
    records = {r["value"]["reason"]: r["value"] for r in read_topic(app.config["KAFKA_BOOTSTRAP"], dlq_topic)
               if r["value"]["reason"].startswith("request:")}
    assert sorted(records) == sorted(reason for *_, reason, _ in sent)
    for _, _, reason, body in sent:
        record = records[reason]
        assert (record["app_id"], record["ip"], record["user_agent"]) == ("shop", "49.207.12.0", UA)
        assert record["size"] == len(body)
        assert record["body"] == body[:4096].decode()  # the first 4 KB, as sent
        assert record["body_truncated"] == (len(body) > 4096)
        assert record["received_time"].endswith("Z") and "event" not in record
    after = ledger.totals()
    assert after["rejected_requests"] - before["rejected_requests"] == len(sent)
    assert after["rejected"] == before["rejected"]  # no event was rejected: requests were
    for _, _, reason, _ in sent:
        assert after[f"reason:{reason}"] - before.get(f"reason:{reason}", 0) == 1, reason


def test_a_batch_of_the_site_s_users_posted_again_is_answered_again_and_taken_once(broker, tmp_path):
    # The collector took a simulated user's batch, and the connection closed before the answer reached
    # the user, who posts it again: the same answer; on the topic and in the counts, the batch once.
    events_topic, dlq_topic = create_topics(broker, 1, 1)
    app = create_app("shop", test_config={
        "KAFKA_BOOTSTRAP": broker, "TOPIC_EVENTS": events_topic, "TOPIC_DLQ": dlq_topic,
        "LEDGER_URI": tmp_path.as_uri(), "SPILL_DIR": str(tmp_path), "LATENCY_SCALE": 0,
    })  # fmt: skip
    try:
        simulation = app.extensions["clickstream.simulation"]
        events = recent_events(40, "posted-twice", malformed_share=0.2)
        hours = [hour_key(e.get("event_time")) for e in events]
        assert simulation.in_flight.generate(hours) and simulation.in_flight.post("batch-1", hours)
        client = app.test_client()
        first = post(client, events, **{SIMULATED_HEADER: "batch-1"})
        again = post(client, events, **{SIMULATED_HEADER: "batch-1"})
        assert first.status_code == again.status_code == 200
        assert again.get_json() == first.get_json()
        assert 0 < first.get_json()["rejected"] < len(events)
        assert app.extensions["clickstream.sink"].flush(15) == 0
        produced = read_topic(broker, events_topic) + read_topic(broker, dlq_topic)
        assert len(produced) == len(events)
        assert simulation.counters["sent"] == simulation.counters["generated"] == len(events)
    finally:
        app.extensions["clickstream.shutdown"]()


def test_events_of_another_site_are_rejected(collector):
    app, _, _ = collector
    event = copy.deepcopy(recent_events(1, "other-site")[0])
    event["app_id"] = "news"
    body = post(app.test_client(), [event]).get_json()
    assert body["reasons"] == {"invalid:app_id": 1}


def test_schema_endpoint_serves_the_contract(collector):
    app, _, _ = collector
    assert app.test_client().get("/schema").get_json() == event_schema()


FUZZ_BASE = recent_events(40, "fuzz-base")


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(
    st.binary(max_size=200),
    json_values.map(dumps),
    st.lists(near_valid_events(FUZZ_BASE), min_size=1, max_size=5).map(dumps),
    st.lists(json_values, max_size=5).map(dumps),
))
def test_fuzzed_payloads_never_5xx(collector, payload):
    app, _, _ = collector
    resp = post(app.test_client(), payload)
    assert resp.status_code < 500, resp.get_data(as_text=True)
    assert resp.status_code in (200, 400, 413, 415)


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


@pytest.fixture(scope="module")
def gunicorn_site(broker, tmp_path_factory):
    """The shop site as `make run` serves it (gunicorn, simulators.wsgi), on private topics, a free port."""
    import subprocess

    import requests

    from embedded.environment import VENV_BIN
    from embedded.polling import wait_for
    from embedded.ports import free_ports

    events_topic, dlq_topic = create_topics(broker, 6, 1)
    ledger_dir = tmp_path_factory.mktemp("gunicorn-ledger")
    (port,) = free_ports(1)
    env = {**os.environ, "CLICKSTREAM_TOPIC_EVENTS": events_topic, "CLICKSTREAM_TOPIC_DLQ": dlq_topic,
           "CLICKSTREAM_SITE_LEDGER_URI": ledger_dir.as_uri(), "CLICKSTREAM_SITE_SPILL_DIR": str(ledger_dir),
           "CLICKSTREAM_SITE_LATENCY_SCALE": "0"}
    proc = subprocess.Popen([str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
                             "--threads", "4", "simulators.wsgi:create_app(site='shop')"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def up() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(up, 60, 0.5, "gunicorn serving the shop site")
        yield port, events_topic, dlq_topic
    finally:
        proc.terminate()
        proc.wait(30)


CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                                 "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                                 "multipart/form-data; boundary=x", "", "application/json; charset=latin-1",
                                 "*/*", "application/jsonx"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(
    st.binary(max_size=300),
    json_values.map(dumps),
    st.lists(near_valid_events(FUZZ_BASE), min_size=1, max_size=5).map(dumps),
), content_type=CONTENT_TYPES, chunked=st.booleans())
def test_fuzzed_requests_through_gunicorn_never_5xx(gunicorn_site, payload, content_type, chunked):
    """Gunicorn's HTTP parsing, then Flask's: bodies, content types, chunked or sized."""
    import http.client

    port, _, _ = gunicorn_site
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"User-Agent": UA, **({"Content-Type": content_type} if content_type else {})}
        if chunked:
            conn.request("POST", "/collect", body=iter([payload]), headers=headers, encode_chunked=True)
        else:
            conn.request("POST", "/collect", body=payload, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode(errors="replace")
    finally:
        conn.close()
    assert resp.status in (200, 400, 413, 415), (resp.status, text)


def test_every_refused_request_through_gunicorn_is_in_the_dlq(gunicorn_site, broker):
    """Runs after the gunicorn fuzz (file order): its refused requests are dead letters, nothing else is."""
    _, events_topic, dlq_topic = gunicorn_site
    records = [r["value"] for r in read_topic(broker, dlq_topic)]
    reasons = {r["reason"] for r in records}
    assert reasons & {"request:malformed_json", "request:content_type"}, reasons
    assert all(r.startswith(("request:", "invalid", "missing:", "unknown_field", "not_an_object",
                             "event_time_in_future")) for r in reasons), reasons
    for r in records:
        if r["reason"].startswith("request:"):
            # The first 4 KB of the body (each undecodable byte shown as U+FFFD, 3 bytes in UTF-8).
            assert r["app_id"] == "shop" and len(r["body"]) <= 4096 and r["size"] is not None
    for value in (r["value"] for r in read_topic(broker, events_topic)):
        assert rejection_reason({k: v for k, v in value.items() if k not in event_schema()["x-enrichment"]}) \
            is None
