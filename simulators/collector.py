"""`POST /collect`: validate, enrich and produce events; `GET /schema`: the contract.

Bad input loses nothing and leaves a trace. A rejected *event* goes to the dead-letter topic with
its reason (``invalid:…``), the rest of its request is taken. A rejected *request* — malformed
JSON, not an array, too many events, a body over the limit, a content type other than JSON or
text — is answered 4xx and also recorded there, once, with reason ``request:<kind>``, the site,
the client's truncated address, the body's size and its first 4 KB; the ledger counts it per
reason (``rejected_requests``, and ``rejected_by_reason``). Requests gunicorn itself refuses (a
request line or headers over its limits) never reach the application and are not recorded.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

import orjson
from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from clickstream.contracts import event_schema, hour_key, rejection_reason
from simulators.enrich import enrichment
from simulators.in_flight import Claim
from simulators.journey import iso
from simulators.ledger import SIMULATED_HEADER
from simulators.sink import Outgoing

bp = Blueprint("collector", __name__)
log = logging.getLogger(__name__)

BODY_KEPT = 4096  # bytes of a rejected request's body kept in its dead-letter record
# navigator.sendBeacon sends a string as text/plain: a browser tracker's batches may come as either.
CONTENT_TYPES = ("application/json", "text/plain")


def _error(status: int, message: str, **extra) -> tuple[Response, int]:
    return jsonify(error=message, **extra), status


def _reject_request(status: int, kind: str, message: str, head: bytes, size: int | None,
                    **extra) -> tuple[Response, int]:
    """Answer a bad request 4xx and record it in the dead-letter topic (reason ``request:<kind>``)."""
    cfg = current_app.config
    now = datetime.now(UTC)
    reason = f"request:{kind}"
    received = iso(now)
    record = {
        "reason": reason, "app_id": cfg["SITE"], "received_time": received,
        "ip": enrichment(request.remote_addr, "", received)["ip"],
        "user_agent": request.headers.get("User-Agent", ""), "content_type": request.content_type,
        "size": size, "body": head[:BODY_KEPT].decode("utf-8", errors="replace"),
        "body_truncated": size is None or size > BODY_KEPT, "message": message,
    }  # fmt: skip
    out = Outgoing(cfg["TOPIC_DLQ"], None, orjson.dumps(record), hour_key(None, now), "rejected_requests",
                   reason)
    if not current_app.extensions["clickstream.sink"].try_send([out]):
        # The broker is not taking records: the client still learns what was wrong with its request.
        log.warning("dead-letter topic unavailable; rejected request not recorded: %s", record)
    return _error(status, message, **extra)


@bp.get("/schema")
def schema():
    """Serve the Event v1 JSON Schema."""
    return jsonify(event_schema())


@bp.post("/collect")
def collect():
    """Take a JSON array of events; answer the counts accepted and rejected per reason."""
    cfg = current_app.config
    if request.mimetype not in CONTENT_TYPES:
        body = request.get_data(cache=False)
        return _reject_request(415, "content_type", f"expected Content-Type application/json, not "
                               f"{request.content_type or 'none'}", body, len(body))
    body = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: RequestEntityTooLarge, below
    try:
        events = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _reject_request(400, "malformed_json", f"malformed JSON: {exc}", body, len(body))
    if not isinstance(events, list):
        return _reject_request(400, "not_an_array", "expected a JSON array of events", body, len(body))
    if len(events) > cfg["MAX_EVENTS_PER_REQUEST"]:
        return _reject_request(413, "too_many_events",
                               f"at most {cfg['MAX_EVENTS_PER_REQUEST']} events per request", body, len(body))

    now = datetime.now(UTC)
    received = iso(now)
    extra = enrichment(request.remote_addr, request.headers.get("User-Agent", ""), received)
    site = cfg["SITE"]
    records: list[Outgoing] = []
    reasons: Counter = Counter()
    rejected_events = []
    for index, event in enumerate(events):
        reason = rejection_reason(event, now)
        if reason is None and event["app_id"] != site:
            reason = "invalid:app_id"
        key = event.get("session_id") if isinstance(event, dict) else None
        key_bytes = key.encode() if isinstance(key, str) else None
        if reason is None:
            value = orjson.dumps(event | extra)
            event_time = event["event_time"]  # validated: YYYY-MM-DDTHH:…Z
            records.append(Outgoing(cfg["TOPIC_EVENTS"], key_bytes, value,
                                    (event_time[:10], int(event_time[11:13])), "accepted"))
        else:
            reasons[reason] += 1
            rejected_events.append({"index": index, "reason": reason})
            dlq = {"reason": reason, "app_id": site, "received_time": received,
                   "ip": extra["ip"], "user_agent": request.headers.get("User-Agent", ""),
                   "event": event}
            event_time = event.get("event_time") if isinstance(event, dict) else None
            records.append(Outgoing(cfg["TOPIC_DLQ"], key_bytes, orjson.dumps(dlq),
                                    hour_key(event_time, now), "rejected", reason))
    # A batch of this site's own simulated users is claimed first: once the site has stopped, the stop
    # has accounted its events as unsent, and producing them now would count them twice.
    batch_id = request.headers.get(SIMULATED_HEADER)
    in_flight = current_app.extensions["clickstream.simulation"].in_flight if batch_id else None
    claim = in_flight.claim(batch_id) if in_flight is not None else Claim.NEW
    if claim is Claim.CLOSED:
        return _unavailable("the site is stopping; retry later")
    if claim is Claim.BUSY:
        return _unavailable("this batch is being taken by another request; retry later")
    if claim is Claim.TAKEN:  # a repeat of a batch taken before whose answer was lost: the same answer
        return _accepted(events, rejected_events, reasons)
    if not current_app.extensions["clickstream.sink"].try_send(records):
        if in_flight is not None:
            in_flight.release(batch_id)
        return _unavailable("the event store is not taking events right now; retry later")
    # Taken: counted now, whether or not the answer reaches the client (a site stopping mid-request).
    hours = Counter(rec.hour for rec in records)
    if in_flight is not None:  # this site's own users: sent, whatever becomes of the answer
        in_flight.take(batch_id, hours)
    else:
        ledger = current_app.extensions["clickstream.ledger"]
        for hour, n in hours.items():
            ledger.add(hour, "external", n)
    return _accepted(events, rejected_events, reasons)


def _accepted(events: list, rejected_events: list[dict], reasons: Counter):
    return jsonify(accepted=len(events) - len(rejected_events), rejected=len(rejected_events),
                   reasons=dict(reasons), rejected_events=rejected_events)


def _unavailable(message: str):
    resp, status = _error(503, message)
    resp.headers["Retry-After"] = "1"
    return resp, status


@bp.errorhandler(RequestEntityTooLarge)
def body_too_large(exc: RequestEntityTooLarge):
    """A body over MAX_CONTENT_LENGTH: 413, recorded with the first 4 KB (read past Flask's limit)."""
    try:
        head = request.environ["wsgi.input"].read(BODY_KEPT)
    except (OSError, ValueError):
        head = b""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return _reject_request(413, "body_too_large", f"the body is over {limit} bytes", head,
                           request.content_length)
