"""Real-time alerts from the live metrics, de-duplicated, to the alerts topic and table.

Each live-metrics micro-batch hands its updated rows to ``AlertEvaluator``:

- ``error_rate`` — a page's 5xx share of page views in a minute is at least
  ``error_rate`` (with at least ``min_responses`` views);
- ``latency_p95`` — a page's p95 response time in a minute is at least ``p95_ms``
  (same volume floor);
- ``bot_surge`` — bots make at least ``bot_share`` of an app's events in a
  minute (with at least ``min_bot_events`` events);
- ``traffic_drop`` — an app's page views in the last complete minute fell
  below ``drop_ratio`` of the average of the ``baseline_minutes`` before it.

De-duplication: an alert is identified by (kind, app, subject); once raised it
is not raised again for ``cooldown`` of *event time*, so a spike lasting ten
minutes is one alert, not ten, and a replayed batch decides exactly as the
first time. The ``alert_id`` is derived from the key and window, so a
consumer of the topic can drop the rare repeat of a replayed batch.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

log = logging.getLogger("clickstream.alerts")

_NS = uuid.UUID("6f1c9a52-3f8e-4c36-9b1e-0d6c1f4a2b7e")

ALERT_COLUMNS = [
    ("alert_id", "STRING"), ("kind", "STRING"), ("severity", "STRING"), ("app_id", "STRING"),
    ("subject", "STRING"), ("window_start", "TIMESTAMP"), ("window_end", "TIMESTAMP"),
    ("metric", "STRING"), ("value", "DOUBLE"), ("threshold", "DOUBLE"), ("message", "STRING"),
    ("batch_id", "BIGINT"),
]  # fmt: skip


@dataclass(frozen=True)
class AlertRules:
    """Thresholds of the alert rules (see the module docstring)."""

    min_responses: int = 20
    error_rate: float = 0.10
    p95_ms: float = 1500.0
    min_bot_events: int = 50
    bot_share: float = 0.5
    drop_ratio: float = 0.3
    min_baseline_views: float = 30.0
    baseline_minutes: int = 5
    cooldown: timedelta = timedelta(minutes=15)


class AlertEvaluator:
    """Turns live-metrics rows into alerts, remembering what fired and the recent traffic."""

    def __init__(self, rules: AlertRules | None = None):
        self.rules = rules or AlertRules()
        self.fired: dict[tuple[str, str, str], datetime] = {}
        self._views: dict[str, dict[datetime, int]] = {}    # app -> minute -> page views
        self._first: dict[str, datetime] = {}              # app -> first minute seen
        self._checked: dict[str, datetime] = {}            # app -> last minute judged for a drop

    def remember(self, alerts: list[dict]) -> None:
        """Take alerts raised before (after a restart) into account for de-duplication."""
        for alert in alerts:
            key = (alert["kind"], alert["app_id"], alert["subject"])
            if key not in self.fired or alert["window_start"] > self.fired[key]:
                self.fired[key] = alert["window_start"]

    def evaluate(self, rows: list[dict], batch_id: int) -> list[dict]:
        """Return the new alerts raised by a batch of updated live-metrics rows."""
        alerts: list[dict] = []
        r = self.rules
        for row in sorted(rows, key=lambda x: (x["window_start"], x["app_id"], x["dim"], x["key"])):
            if row["dim"] == "page" and (row["responses"] or 0) >= r.min_responses:
                if row["error_rate"] is not None and row["error_rate"] >= r.error_rate:
                    alerts += self._raise("error_rate", row, row["error_rate"], r.error_rate, batch_id,
                                          f"{row['errors']} of {row['responses']} page views failed")
                if row["response_p95_ms"] is not None and row["response_p95_ms"] >= r.p95_ms:
                    alerts += self._raise("latency_p95", row, row["response_p95_ms"], r.p95_ms, batch_id,
                                          f"p95 response time {row['response_p95_ms']:.0f} ms")
            elif row["dim"] == "app":
                if row["events"] >= r.min_bot_events and row["bot_events"] / row["events"] >= r.bot_share:
                    alerts += self._raise("bot_surge", row, row["bot_events"] / row["events"], r.bot_share,
                                          batch_id, f"{row['bot_events']} of {row['events']} events are bots")
                self._views.setdefault(row["app_id"], {})[row["window_start"]] = row["page_views"]
                self._first.setdefault(row["app_id"], row["window_start"])
        for app_id in sorted(self._views):
            alerts += self._traffic_drop(app_id, batch_id)
        return alerts

    def _traffic_drop(self, app_id: str, batch_id: int) -> list[dict]:
        views, r = self._views[app_id], self.rules
        minute = timedelta(minutes=1)
        # The newest minute is still filling up; the one before it is complete.
        complete = max(views) - minute
        alerts: list[dict] = []
        if complete - r.baseline_minutes * minute >= self._first[app_id] and \
                self._checked.get(app_id) != complete:
            self._checked[app_id] = complete
            baseline = sum(views.get(complete - (i + 1) * minute, 0)
                           for i in range(r.baseline_minutes)) / r.baseline_minutes
            now = views.get(complete, 0)
            if baseline >= r.min_baseline_views and now < r.drop_ratio * baseline:
                row = {"app_id": app_id, "key": "*", "window_start": complete,
                       "window_end": complete + minute}
                alerts = self._raise("traffic_drop", row, now, r.drop_ratio * baseline, batch_id,
                                     f"{now} page views in a minute, baseline {baseline:.0f}")
        for old in [m for m in views if m < complete - (r.baseline_minutes + 1) * minute]:
            del views[old]
        return alerts

    def _raise(self, kind: str, row: dict, value: float, threshold: float, batch_id: int,
               detail: str) -> list[dict]:
        key = (kind, row["app_id"], row["key"])
        last = self.fired.get(key)
        if last is not None and row["window_start"] < last + self.rules.cooldown:
            return []
        self.fired[key] = row["window_start"]
        start = row["window_start"]
        subject = row["key"] if row["key"] != "*" else row["app_id"]
        return [{
            "alert_id": str(uuid.uuid5(_NS, f"{kind}|{row['app_id']}|{row['key']}|{start.isoformat()}")),
            "kind": kind, "severity": "critical" if kind in ("error_rate", "traffic_drop") else "warning",
            "app_id": row["app_id"], "subject": row["key"], "window_start": start,
            "window_end": row["window_end"], "metric": kind, "value": float(value),
            "threshold": float(threshold), "batch_id": batch_id,
            "message": f"{kind.replace('_', ' ')} on {row['app_id']} {subject} at "
                       f"{start:%Y-%m-%d %H:%M} UTC: {detail}",
            "dt": start.strftime("%Y-%m-%d"), "hr": start.hour,
        }]


def publish(producer, topic: str, alerts: list[dict]) -> None:
    """Send alerts to the alerts topic, keyed by alert_id, and wait until the broker has them."""
    failed: list[str] = []

    def delivered(err, msg) -> None:
        if err is not None:
            failed.append(f"{msg.key()!r}: {err}")

    for alert in alerts:
        value = json.dumps(alert, default=lambda v: v.isoformat())
        producer.produce(topic, key=alert["alert_id"].encode(), value=value.encode(), on_delivery=delivered)
    remaining = producer.flush(30)
    if failed or remaining:
        # The alerts table has them; a missing topic message must not stop the metrics.
        log.error("alerts not delivered to %s: %s (%d pending)", topic, failed, remaining)
