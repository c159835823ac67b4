"""Alert rules on live-metrics rows: thresholds, volume floors, de-duplication and traffic drops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clickstream.streaming.alerts import AlertEvaluator

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def row(minute: int, dim: str = "page", key: str = "/checkout", app_id: str = "shop", **measures) -> dict:
    start = T0 + timedelta(minutes=minute)
    base = {"window_start": start, "window_end": start + timedelta(minutes=1), "app_id": app_id,
            "dim": dim, "key": key, "events": 0, "page_views": 0, "bot_events": 0, "responses": 0,
            "errors": 0, "error_rate": None, "response_p95_ms": None}
    return base | measures


def page(minute: int, responses: int, errors: int, p95: float = 200.0) -> dict:
    return row(minute, responses=responses, errors=errors, error_rate=errors / responses,
               response_p95_ms=p95, page_views=responses, events=responses)


def brief(alerts: list[dict]) -> list[tuple]:
    return [(a["kind"], a["app_id"], a["subject"], a["window_start"].strftime("%H:%M"), a["value"],
             a["threshold"]) for a in alerts]


def test_error_rate_and_latency_spikes_fire_once_per_cooldown():
    ev = AlertEvaluator()
    assert brief(ev.evaluate([page(0, 40, 8)], 1)) == [("error_rate", "shop", "/checkout", "12:00", 0.2, 0.1)]
    assert ev.evaluate([page(0, 45, 9)], 2) == []                  # same window, updated
    assert ev.evaluate([page(5, 40, 20)], 3) == []                 # still within 15 minutes
    assert brief(ev.evaluate([page(15, 40, 4)], 4)) == [
        ("error_rate", "shop", "/checkout", "12:15", 0.1, 0.1)]
    assert ev.evaluate([page(16, 19, 19)], 5) == []                # below the volume floor
    assert ev.evaluate([page(20, 100, 0, p95=900.0)], 6) == []     # healthy
    latency = ev.evaluate([page(21, 100, 0, p95=2500.0)], 7)
    assert brief(latency) == [("latency_p95", "shop", "/checkout", "12:21", 2500.0, 1500.0)]
    assert latency[0]["message"] == ("latency p95 on shop /checkout at 2026-11-20 12:21 UTC: "
                                     "p95 response time 2500 ms")
    assert latency[0]["batch_id"] == 7 and latency[0]["dt"] == "2026-11-20"
    # The id depends on the alert, not on when it was raised: a replay gives the same id.
    again = AlertEvaluator().evaluate([page(21, 100, 0, p95=2500.0)], 99)
    assert again[0]["alert_id"] == latency[0]["alert_id"]


def test_bot_surge_needs_volume_and_share():
    ev = AlertEvaluator()
    assert ev.evaluate([row(0, "app", "*", events=40, bot_events=40)], 1) == []
    assert ev.evaluate([row(1, "app", "*", events=100, bot_events=49)], 2) == []
    assert brief(ev.evaluate([row(2, "app", "*", events=100, bot_events=60)], 3)) == [
        ("bot_surge", "shop", "*", "12:02", 0.6, 0.5)]


def test_traffic_drop_against_the_previous_five_minutes():
    ev = AlertEvaluator()
    for m in range(6):                                      # 12:00-12:05 at 100 page views
        assert ev.evaluate([row(m, "app", "*", events=300, page_views=100)], m) == []
    assert ev.evaluate([row(6, "app", "*", events=20, page_views=10)], 6) == []   # 12:06 still filling
    got = ev.evaluate([row(7, "app", "*", events=300, page_views=100)], 7)        # 12:06 complete
    assert brief(got) == [("traffic_drop", "shop", "*", "12:06", 10.0, 30.0)]
    assert got[0]["message"].endswith("10 page views in a minute, baseline 100")
    assert ev.evaluate([row(7, "app", "*", events=310, page_views=101)], 8) == []  # judged once
    # Another app with too little traffic for a baseline never alerts.
    quiet = AlertEvaluator()
    for m in range(8):
        assert quiet.evaluate([row(m, "app", "*", app_id="news", events=5, page_views=m % 2 * 5)], m) == []


def test_alerts_raised_before_a_restart_are_not_raised_again():
    first = AlertEvaluator().evaluate([page(0, 40, 8)], 1)
    restarted = AlertEvaluator()
    restarted.remember(first)
    assert restarted.evaluate([page(3, 40, 8)], 2) == []
    assert len(restarted.evaluate([page(15, 40, 8)], 3)) == 1
