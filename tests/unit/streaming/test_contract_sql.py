"""Differential: the streaming job's validation in the JVM gives the collector's verdict and reason code.

One corpus goes through the collector's validator (``topic_rejection_reason``: the collector's
``rejection_reason`` at its clock, then its enrichment fields) and through the streaming path
(``transform_parse``), and every record must get the same verdict and the same code. The corpus holds
every rejection reason the contract can give, edge values derived from the schema (bounds, lengths,
patterns, types, times), the collector's fuzz cases, and over 100,000 generated events.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clickstream.contracts import event_schema, topic_rejection_reason
from clickstream.streaming.contract_sql import java_pattern
from clickstream.streaming.events import transform_parse
from simulators.enrich import enrichment
from simulators.generate import day_sessions
from simulators.population import BOT_AGENTS, HUMAN_AGENTS
from simulators.sites import SITES
from tests.support.fuzz import dumps, json_values, near_valid_events

DAY = date(2026, 11, 1)
RECEIVED = "2026-11-01T23:59:00.000Z"
EXTRA = enrichment("49.207.12.34", HUMAN_AGENTS[0][1], RECEIVED)
SCHEMA = event_schema()


def generated(n: int, seed: str, malformed_share: float) -> list[dict]:
    rng = random.Random(seed)
    events: list[dict] = []
    while len(events) < n:
        for site in SITES.values():
            events += [e for b in day_sessions(site, DAY, n // 3 + 1, rng, malformed_share=malformed_share)
                       for e in b.events]
    return events[:n]


def edge_values(spec: dict) -> list:
    """Values at and just past each of a field's rules, and values of every other JSON type."""
    values: list = [None, True, False, 0, -1, 1, 2.0, 2.5, 1e300, 2**63, "", "x", [], {}, ["a"], {"a": 1}]
    for bound, step in (("minimum", -1), ("maximum", 1)):
        if bound in spec:
            values += [spec[bound], spec[bound] + step, spec[bound] + step / 2, float(spec[bound])]
    if "maxLength" in spec:
        n = spec["maxLength"]
        values += ["a" * n, "a" * (n + 1), "é" * n, "😀" * n, "😀" * (n + 1), "e\u0301" * (n // 2 + 1)]
    if "enum" in spec:
        values += [*spec["enum"], *(v.upper() for v in spec["enum"]), spec["enum"][0] + "\n"]
    if "const" in spec:
        values += [spec["const"], str(spec["const"]), float(spec["const"])]
    if "pattern" in spec:
        values += ["/" + "a" * 120, "/" + "a" * 121, "/a\n", "/A", "a", "u_0123456789abcdef",
                   "u_0123456789abcdef\n", "u_0123456789ABCDEF", "s_0123456789abcdef", "DE", "de", "DEU",
                   "D\u0415", "page_section", "9section", "00000000-0000-4000-8000-000000000000",
                   "00000000-0000-4000-8000-00000000000g"]
    if spec.get("format") == "date-time" or "time" in spec.get("description", ""):
        values += ["2026-11-01T10:00:00Z", "2026-11-01T10:00:00.1Z", "2026-11-01T10:00:00.123456Z",
                   "2026-11-01T10:00:00.1234567Z", "2026-02-29T10:00:00Z", "2024-02-29T10:00:00Z",
                   "2026-11-01T24:00:00Z", "2026-11-01T10:00:60Z", "2026-11-01T10:00:00+00:00",
                   "2026-11-01 10:00:00Z", "2026-13-01T10:00:00Z", "٢٠٢٦-11-01T10:00:00Z",
                   "2026-11-02T00:04:00.000Z", "2026-11-02T00:05:00.001Z", "2026-11-01T23:59:00.000+02:00",
                   "2026-11-01T23:59:00"]
    return values


def edge_cases(base: list[dict]) -> list[bytes]:
    """Every field of the enriched event set to each of its edge values, removed, or doubled."""
    specs = {**SCHEMA["properties"], **SCHEMA["x-enrichment"]}
    cases = []
    for i, (name, spec) in enumerate(specs.items()):
        event = base[i % len(base)]
        for value in edge_values(spec):
            cases.append(dumps(event | {name: value}))
        cases.append(dumps({k: v for k, v in event.items() if k != name}))
        # A field given twice: the last value counts, at the first one's place.
        cases.append(dumps(event)[:-1] + b", " + json.dumps(name).encode() + b": 3}")
    valid = base[0]
    cases += [
        b"not json", b"[1, 2]", b"{}", b"null", b"", b"\xff\xfe{}", b'"a string"', b"17",
        orjson.dumps(valid) + b" x", orjson.dumps(valid) + b" \n", b" " + orjson.dumps(valid),
        orjson.dumps(valid | {"debug": 1}), orjson.dumps(valid | {"zeta": 1, "alpha": [1], "app_id": "x"}),
        orjson.dumps({"page": 5, **valid, "user_id": 5}),  # two invalid fields: the first in the record
        orjson.dumps(valid | {"k" * 60: 1}),  # an unknown field's name is cut to 40 characters
        orjson.dumps(valid | enrichment("10.0.0.1", BOT_AGENTS[0], RECEIVED)),
    ]
    return cases


def fuzz_cases(base: list[dict], n: int) -> list[bytes]:
    """The collector's fuzz strategies, drawn n times."""
    drawn: list[bytes] = []

    @settings(max_examples=n, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(near_valid_events(base).map(dumps), json_values.map(dumps), st.binary(max_size=200)))
    def draw(record):
        drawn.append(record)

    draw()
    return drawn


@pytest.fixture(scope="module")
def corpus() -> list[bytes]:
    events = generated(100_000, "differential", malformed_share=0.05)
    base = [e | EXTRA for e in events[:200] if topic_rejection_reason(orjson.dumps(e | EXTRA)) is None]
    rng = random.Random("edges")
    specs = {**SCHEMA["properties"], **SCHEMA["x-enrichment"]}
    records = []
    for event in events:
        event = event | EXTRA
        if rng.random() < 0.05:  # an edge value in a generated event
            name = rng.choice(list(specs))
            event = event | {name: rng.choice(edge_values(specs[name]))}
        records.append(dumps(event))
    return records + edge_cases(base) + fuzz_cases(base, 3000)


def test_the_jvm_gives_the_collectors_verdict_and_reason_for_every_record(spark, corpus, tmp_path):
    pq.write_table(pa.table({"i": range(len(corpus)), "value": pa.array(corpus, pa.binary())}),
                   tmp_path / "corpus.parquet")
    df = spark.read.parquet(str(tmp_path / "corpus.parquet"))
    got = dict(transform_parse(df).select("i", "_reason").collect())
    expected = [topic_rejection_reason(record) for record in corpus]
    differ = [(corpus[i][:200], want, got[i]) for i, want in enumerate(expected) if got[i] != want]
    assert not differ, f"{len(differ)} of {len(corpus)} records differ, e.g. {differ[:10]}"
    # The corpus holds every reason the contract can give (and valid events).
    reasons = Counter(expected)
    assert reasons[None] > 90_000
    specs = {**SCHEMA["properties"], **SCHEMA["x-enrichment"]}
    wanted = ({"not_an_object", "event_time_in_future"} | {f"missing:{n}" for n in SCHEMA["required"]}
              | {f"missing:{n}" for n in SCHEMA["x-enrichment"]} | {f"invalid:{n}" for n in specs})
    assert wanted <= set(reasons), wanted - set(reasons)
    assert any(r and r.startswith("unknown_field:") for r in reasons)


def test_ecma_anchors_become_java_anchors():
    assert java_pattern("^u_[0-9a-f]{16}$") == r"^u_[0-9a-f]{16}\z"
    assert java_pattern(r"^cost \$") == r"^cost \$"
