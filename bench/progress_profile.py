"""Per streaming query, its micro-batches from the ``stream_progress`` table and where their time went."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime


def query_batches(settings, since: datetime | None = None, until: datetime | None = None,
                  with_data_only: bool = False) -> dict[str, dict]:
    """Per query: batches, rows read, busy seconds and the four largest parts of its batches' time."""
    from clickstream.streaming.monitor import QUERIES, read_progress

    profile = {}
    rows = [r for r in read_progress(settings) if not r["idle"] and (r["input_rows"] or not with_data_only)
            and (since is None or since <= _utc(r["ts"])) and (until is None or _utc(r["ts"]) < until)]
    for query in QUERIES:
        mine = [r for r in rows if r["query"] == query]
        parts: dict[str, float] = defaultdict(float)
        for r in mine:
            for part, ms in json.loads(r["durations"] or "{}").items():
                if part != "triggerExecution":
                    parts[part] += ms / 1000
        profile[query] = {"batches": len(mine), "rows": sum(r["input_rows"] or 0 for r in mine),
                          "busy_s": round(sum(r["batch_ms"] or 0 for r in mine) / 1000, 1),
                          "top_parts_s": dict(sorted(((k, round(v, 1)) for k, v in parts.items()),
                                                     key=lambda kv: -kv[1])[:4])}
    return profile


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
