"""Data contracts shared by the collector and the streaming job: Event v1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs

# Read as a package resource: the jobs import this package from the --py-files zip on YARN.
SCHEMA_RESOURCE = resources.files(__package__) / "event_v1.schema.json"
SCHEMA_VERSION = 1
# Client clocks drift; an event stamped further ahead of the collector is rejected.
MAX_CLOCK_SKEW = timedelta(minutes=5)


@cache
def event_schema() -> dict[str, Any]:
    """Return the Event v1 JSON Schema."""
    return json.loads(SCHEMA_RESOURCE.read_text())


@cache
def _validator() -> jsonschema_rs.Draft202012Validator:
    schema = dict(event_schema())
    schema.pop("x-enrichment", None)
    return jsonschema_rs.Draft202012Validator(schema)


def client_fields() -> list[str]:
    """Return the fields a client may send, in schema order."""
    return list(event_schema()["properties"])


def enrichment_fields() -> list[str]:
    """Return the fields the collector adds, in schema order."""
    return list(event_schema()["x-enrichment"])


def parse_time(value: str) -> datetime:
    """Parse an Event v1 timestamp (ISO 8601, UTC, trailing Z)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def rejection_reason(event: Any, now: datetime | None = None) -> str | None:
    """Return why an event violates Event v1, as a short stable code, or None if valid.

    Codes: ``not_an_object``, ``missing:<field>``, ``unknown_field:<field>``,
    ``invalid:<field>``, ``event_time_in_future``.
    """
    if not isinstance(event, dict):
        return "not_an_object"
    schema = event_schema()
    for name in schema["required"]:
        if name not in event:
            return f"missing:{name}"
    validator = _validator()
    if not validator.is_valid(event):
        error = next(validator.iter_errors(event))
        if error.schema_path and error.schema_path[0] == "additionalProperties":
            extra = sorted(set(event) - set(schema["properties"]))
            return f"unknown_field:{extra[0][:40]}" if extra else "unknown_field"
        path = list(error.instance_path)
        return f"invalid:{path[0]}" if path else "invalid"
    return time_rejection(event, now or datetime.now(UTC))


def time_rejection(event: dict, now: datetime) -> str | None:
    """Return why a schema-valid event's timestamps are not acceptable at clock `now`, or None."""
    try:
        event_time = parse_time(event["event_time"])
        parse_time(event["sent_time"])
    except ValueError:
        return "invalid:event_time"
    if event_time > now + MAX_CLOCK_SKEW:
        return "event_time_in_future"
    return None


_NO_CLOCK = datetime(9000, 1, 1, tzinfo=UTC)  # no collector clock: skip the future check


def topic_rejection_reason(record: bytes | str | None) -> str | None:
    """Return why a record on the events topic is not a valid enriched Event v1 (a collector's code), or None.

    The collector's own check of the client's fields, judged at its clock (``received_time``), then
    its enrichment fields. The streaming job checks the same in the JVM (``clickstream.streaming.
    contract_sql``); this is the statement of it the differential test compares against.
    """
    import orjson

    try:
        event = orjson.loads(record) if record is not None else None
    except orjson.JSONDecodeError:
        return "not_an_object"
    if not isinstance(event, dict):
        return "not_an_object"
    extra = event_schema()["x-enrichment"]
    received = event.get("received_time")
    try:
        received = parse_time(received) if isinstance(received, str) else None
    except ValueError:
        received = None
    if received is not None and received.tzinfo is None:
        received = None  # the collector's clock always carries its offset
    client = {k: v for k, v in event.items() if k not in extra}
    reason = rejection_reason(client, now=received or _NO_CLOCK)
    if reason is not None:
        return reason
    for name in extra:
        if name not in event:
            return f"missing:{name}"
    if received is None:
        return "invalid:received_time"
    for name in extra:
        if name != "received_time" and not _field_validator(name).is_valid(event[name]):
            return f"invalid:{name}"
    return None


@cache
def _field_validator(name: str) -> jsonschema_rs.Draft202012Validator:
    """A validator of one enrichment field's value, from its schema."""
    return jsonschema_rs.Draft202012Validator(event_schema()["x-enrichment"][name])


def hour_key(event_time: str | None, fallback: datetime | None = None) -> tuple[str, int]:
    """Return the (dt, hr) an event is counted under: its event time's UTC hour, else fallback's.

    The ledger (simulators/ledger.py) and the reconciliation (clickstream/reconcile.py) both count
    by this rule, so their hours agree even for rejected events with a broken event_time.
    """
    ts = None
    if isinstance(event_time, str):
        try:
            ts = datetime.fromisoformat(event_time.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            pass
    ts = ts or fallback or datetime.now(UTC)
    return ts.strftime("%Y-%m-%d"), ts.hour
