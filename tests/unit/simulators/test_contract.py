"""Event v1: the schema file, the fast validator's verdicts and its reason codes."""

from __future__ import annotations

import copy
import random
from datetime import date

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clickstream.contracts import (
    client_fields,
    enrichment_fields,
    event_schema,
    parse_time,
    rejection_reason,
)
from clickstream.settings import SITES
from simulators.generate import day_sessions
from simulators.sites import SITES as SITE_DEFS

NOW = parse_time("2026-11-05T00:00:00Z")


@pytest.fixture(scope="module")
def good_event():
    rng = random.Random("contract")
    batch = next(day_sessions(SITE_DEFS["shop"], date(2026, 11, 1), 50, rng, malformed_share=0))
    return batch.events[0]


def reference_valid(event) -> bool:
    schema = {k: v for k, v in event_schema().items() if k != "x-enrichment"}
    return jsonschema.Draft202012Validator(schema).is_valid(event)


def test_schema_is_valid_draft_2020_12_and_names_the_sites():
    jsonschema.Draft202012Validator.check_schema(event_schema())
    assert event_schema()["properties"]["app_id"]["enum"] == list(SITES)
    assert {"event_id", "event_time", "session_id", "user_id", "page"} <= set(event_schema()["required"])
    assert enrichment_fields() == ["received_time", "ip", "device_type", "browser", "os", "is_bot"]
    assert not set(client_fields()) & set(enrichment_fields())


def test_generated_events_are_valid(good_event):
    assert rejection_reason(good_event, NOW) is None
    assert reference_valid(good_event)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.pop("page"), "missing:page"),
        (lambda e: e.update(event_type="pageview"), "invalid:event_type"),
        (lambda e: e.update(time_on_page_ms="12s"), "invalid:time_on_page_ms"),
        (lambda e: e.update(debug=True), "unknown_field:debug"),
        (lambda e: e.update(user_id="anonymous"), "invalid:user_id"),
        (lambda e: e.update(schema_version=2), "invalid:schema_version"),
        (lambda e: e.update(event_time="2026-11-01 10:00:00"), "invalid:event_time"),
        (lambda e: e.update(event_time="2026-13-01T10:00:00Z"), "invalid:event_time"),
        (lambda e: e.update(event_time="2026-11-06T00:00:00Z"), "event_time_in_future"),
        (lambda e: e.update(country="India"), "invalid:country"),
    ],
)
def test_reason_codes(good_event, mutate, reason):
    event = copy.deepcopy(good_event)
    mutate(event)
    assert rejection_reason(event, NOW) == reason
    if reason != "event_time_in_future" and reason != "invalid:event_time":
        assert not reference_valid(event)


@pytest.mark.parametrize("payload", [None, 3, "x", [], [{}]])
def test_non_objects_are_rejected(payload):
    assert rejection_reason(payload, NOW) == "not_an_object"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(client_fields()), value=json_values)
def test_fast_validator_agrees_with_reference_implementation(good_event, field, value):
    event = dict(good_event, **{field: value})
    fast_ok = rejection_reason(event, NOW) is None
    if fast_ok:
        assert reference_valid(event), f"accepted but invalid: {field}={value!r}"
    elif reference_valid(event):
        # Stricter than the schema only on timestamps (parsed for real, not just by pattern).
        assert field in ("event_time", "sent_time"), f"rejected but valid: {field}={value!r}"
