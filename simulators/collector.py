"""`POST /collect`: validate, enrich and produce events; `GET /schema`: the contract."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson
from flask import Blueprint, Response, current_app, jsonify, request

from clickstream.contracts import event_schema, hour_key, rejection_reason
from simulators.enrich import enrichment
from simulators.journey import iso
from simulators.sink import Outgoing

bp = Blueprint("collector", __name__)


def _error(status: int, message: str, **extra) -> tuple[Response, int]:
    return jsonify(error=message, **extra), status


@bp.get("/schema")
def schema():
    """Serve the Event v1 JSON Schema."""
    return jsonify(event_schema())


@bp.post("/collect")
def collect():
    """Take a JSON array of events; answer the counts accepted and rejected per reason."""
    cfg = current_app.config
    body = request.get_data(cache=False)  # MAX_CONTENT_LENGTH answers 413 before this
    try:
        events = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _error(400, f"malformed JSON: {exc}")
    if not isinstance(events, list):
        return _error(400, "expected a JSON array of events")
    if len(events) > cfg["MAX_EVENTS_PER_REQUEST"]:
        return _error(413, f"at most {cfg['MAX_EVENTS_PER_REQUEST']} events per request")

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
    if not current_app.extensions["clickstream.sink"].try_send(records):
        resp, status = _error(503, "the event store is not taking events right now; retry later")
        resp.headers["Retry-After"] = "1"
        return resp, status
    return jsonify(accepted=len(events) - len(rejected_events), rejected=len(rejected_events),
                   reasons=dict(reasons), rejected_events=rejected_events)
