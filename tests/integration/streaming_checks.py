"""Checks of the streaming application's tables against raw_events, through HiveServer2."""

from __future__ import annotations

from datetime import datetime

from clickstream.hive import execute

RECOMPUTED = """
SELECT cast(date_trunc('minute', event_ts) AS STRING), app_id, {key}, count(*),
       count(CASE WHEN event_type = 'page_view' THEN 1 END), count(DISTINCT user_id),
       count(CASE WHEN event_type = 'page_view' AND http_status >= 500 THEN 1 END),
       percentile(CASE WHEN event_type = 'page_view' THEN response_time_ms END, 0.95),
       avg(CASE WHEN element = 'page_leave' THEN time_on_page_ms END)
FROM raw_events GROUP BY 1, 2, 3
HAVING max(date_trunc('minute', event_ts)) + INTERVAL 1 MINUTE <= '{closed}'
"""
LIVE = """
SELECT cast(window_start AS STRING), app_id, key, events, page_views, users, errors, response_p95_ms,
       time_on_page_avg_ms
FROM live_metrics_latest WHERE dim = '{dim}' AND window_end <= '{closed}'
"""


def live_metrics_equal_a_recomputation(settings, closed_before: datetime | None = None,
                                       min_windows: int = 50) -> None:
    """Each closed live 1-minute window, per page and per app, equals a batch query over raw_events."""
    closed = (closed_before or datetime(9999, 1, 1)).strftime("%Y-%m-%d %H:%M:%S")
    for dim, key in (("page", "page"), ("app", "'*'")):
        live = sorted(execute(settings, LIVE.format(dim=dim, closed=closed)))
        recomputed = sorted(execute(settings, RECOMPUTED.format(key=key, closed=closed)))
        assert len({row[0] for row in live}) >= min_windows
        assert live == recomputed


def paths_follow_the_sessions(settings) -> None:
    """Every prev → page → next triple is three consecutive page views of one session in raw_events."""
    views: dict[str, list[str]] = {}
    for session, page in execute(settings, "SELECT session_id, page FROM raw_events WHERE "
                                             "event_type = 'page_view' ORDER BY session_id, event_ts"):
        views.setdefault(session, []).append(page)
    expected = set()
    for session, pages in views.items():
        walk = ["(entrance)", *pages]
        expected |= {(session, *walk[i:i + 3]) for i in range(len(walk) - 2)}
    got = execute(settings, "SELECT session_id, prev_page, page, next_page FROM live_paths "
                              "WHERE ended_by = 'next'")
    assert len(got) == len(set(got)) > 100
    assert set(got) <= expected
    # All but the sessions still open at the watermark are complete.
    assert len(got) >= 0.9 * len(expected)
