"""Checks of the streaming application's tables against raw_events, through HiveServer2."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pytest

from clickstream.hive import execute
from clickstream.streaming.recent import HORIZONS

RECOMPUTED = """
SELECT cast(date_trunc('minute', event_ts) AS STRING), app_id, {key}, count(*),
       count(CASE WHEN event_type = 'page_view' THEN 1 END), count(DISTINCT user_id),
       count(CASE WHEN event_type = 'page_view' AND http_status >= 500 THEN 1 END),
       count(CASE WHEN event_type = 'page_view' THEN response_time_ms END),
       avg(CASE WHEN element = 'page_leave' THEN time_on_page_ms END)
FROM raw_events WHERE event_ts >= '{since}' GROUP BY 1, 2, 3
HAVING max(date_trunc('minute', event_ts)) + INTERVAL 1 MINUTE <= '{closed}'
"""
RESPONSES = """
SELECT cast(date_trunc('minute', event_ts) AS STRING), app_id, {key}, response_time_ms FROM raw_events
WHERE event_ts >= '{since}' AND event_type = 'page_view' AND response_time_ms IS NOT NULL
"""
LIVE = """
SELECT cast(window_start AS STRING), app_id, key, events, page_views, users, errors, response_p95_ms,
       time_on_page_avg_ms
FROM live_metrics_latest WHERE dim = '{dim}' AND window_end <= '{closed}' AND window_start >= '{since}'
"""

STORE = """
SELECT to_char(window_start, 'YYYY-MM-DD HH24:MI:SS'), app_id, key, events, page_views, users, errors,
       response_p95_ms, time_on_page_avg_ms
FROM "{schema}".live_windows WHERE dim = %s AND window_end <= %s AND window_start >= %s
"""


def store_rows(settings, dim: str, closed: str, since: str) -> list[tuple]:
    """The Live page's store (PostgreSQL), the same columns as LIVE."""
    import psycopg2

    from embedded.environment import load_secrets

    conn = psycopg2.connect(settings.live_store_url, password=load_secrets(settings)["live_password"])
    try:
        with conn.cursor() as cur:
            cur.execute(STORE.format(schema=settings.hive_database), (dim, closed, since))
            return cur.fetchall()
    finally:
        conn.close()


# A KLL sketch (k 200) answers a quantile within 1.33 % of rank, with 99 % confidence; twice that leaves no
# false alarm over the hundreds of windows a test compares, and still fails a wrong quantile.
RANK_ERROR = 0.027


def within_rank(values: list, got: float, q: float, error: float = RANK_ERROR) -> bool:
    """Whether ``got`` is a ``q`` quantile of ``values`` up to ``error`` of rank: the share of values below
    it is at most q + error, the share at or below it at least q - error."""
    below, at_most = sum(v < got for v in values), sum(v <= got for v in values)
    return below <= (q + error) * len(values) and at_most >= (q - error) * len(values)


def live_metrics_equal_a_recomputation(settings, closed_before: datetime | None = None,
                                       min_windows: int = 50, since: str = "0001-01-01 00:00:00",
                                       store: bool = False) -> None:
    """Each closed live 1-minute window, per page and per app, equals a batch query over raw_events.

    Counts and averages exactly; users (an HLL sketch) within 2 %; the p95 response time (a KLL sketch)
    a 95th percentile of the window's response times up to the sketch's rank error (docs/streaming.md).
    ``since``: only the windows from this minute on. ``store``: the Live page's store rather than the Hive
    view; it holds the recent windows only, each breakdown's horizon before the newest window, and must hold
    every one of them.
    """
    closed = (closed_before or datetime(9999, 1, 1)).strftime("%Y-%m-%d %H:%M:%S")
    for dim, key in (("page", "page"), ("app", "'*'")):
        bounds = {"closed": closed, "since": since}
        if store:
            live = {row[:3]: row[3:] for row in store_rows(settings, dim, closed, since)}
        else:
            live = {row[:3]: row[3:] for row in execute(settings, LIVE.format(dim=dim, **bounds))}
        recomputed = {row[:3]: row[3:] for row in execute(settings, RECOMPUTED.format(key=key, **bounds))}
        assert len({window for window, _, _ in live}) >= min_windows
        if store:  # every window of the breakdown's horizon before the newest, and none older
            newest = datetime.fromisoformat(max(window for window, _, _ in recomputed))
            first = (newest - HORIZONS[dim]).strftime("%Y-%m-%d %H:%M:%S")
            recomputed = {k: v for k, v in recomputed.items() if k[0] >= first}
        assert live.keys() == recomputed.keys()
        responses = defaultdict(list)
        for *window, response in execute(settings, RESPONSES.format(key=key, **bounds)):
            responses[tuple(window)].append(response)
        for window, (events, views, users, errors, timed, dwell) in recomputed.items():
            got = live[window]
            assert (got[0], got[1], got[3]) == (events, views, errors), window
            assert abs(got[2] - users) <= 0.02 * users, window
            assert (got[4] is None) == (timed == 0) and len(responses[window]) == timed, window
            assert not timed or within_rank(responses[window], got[4], 0.95), (window, got[4])
            assert got[5] == (dwell if dwell is None else pytest.approx(dwell, rel=1e-12)), window


def paths_follow_the_sessions(settings, since: datetime | None = None, min_triples: int = 100) -> None:
    """Each session's prev → page → next triples are its consecutive page views in raw_events.

    Sessions whose page views share a timestamp (their order is not defined) or
    pause longer than the session timeout (the processor starts over) are left
    out of the comparison; they are a handful of the crafted events other tests send.
    ``since``: only the sessions whose first page view is at or after it; at least ``min_triples`` of theirs.
    """
    from datetime import timedelta

    views: dict[str, list[tuple]] = defaultdict(list)
    for session, page, ts in execute(settings, "SELECT session_id, page, cast(event_ts AS STRING) "
                                               "FROM raw_events WHERE event_type = 'page_view'"):
        views[session].append((datetime.fromisoformat(ts), page))
    expected: dict[str, list[tuple]] = {}
    for session, seen in views.items():
        seen.sort()
        times = [t for t, _ in seen]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        if len(set(times)) < len(times) or any(gap > timedelta(minutes=30) for gap in gaps):
            continue
        if since is not None and times[0] < since:
            continue
        walk = ["(entrance)", *[page for _, page in seen]]
        expected[session] = [tuple(walk[i:i + 3]) for i in range(len(walk) - 2)]
    got: dict[str, list[tuple]] = defaultdict(list)
    for session, prev, page, nxt in execute(settings, "SELECT session_id, prev_page, page, next_page "
                                                      "FROM live_paths WHERE ended_by = 'next' "
                                                      "ORDER BY session_id, page_ts"):
        got[session].append((prev, page, nxt))
    compared = {session: got.get(session, []) for session in expected}
    assert sum(len(t) for t in compared.values()) >= min_triples
    assert compared == expected
