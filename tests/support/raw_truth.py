"""Independent answers for the dashboard's numbers: HiveQL over raw_events, never the tables a page reads.

Each function recomputes one thing a page shows from the archived events, with the platform's
definitions restated in SQL (a session ends after 30 minutes without an event, a session's device is
its first event's, time on page is the page-leave beacon's), so a page that reads a wrong table, sums
the wrong column or mislabels a unit disagrees with it.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

from clickstream.hive import execute

SESSION_TIMEOUT_S = 1800
LEAVE = "event_type = 'engagement_ping' AND element = 'page_leave'"
SECTION_LEAVE = "event_type = 'engagement_ping' AND element = 'section_leave'"


def scalar(settings, sql: str):
    return execute(settings, sql)[0][0]


def page_views(settings, day: date) -> int:
    return scalar(settings, f"SELECT count(*) FROM raw_events WHERE dt = '{day}' "
                            "AND event_type = 'page_view'")


def session_starts(settings, day: date, *by: str) -> dict[tuple, int]:
    """Sessions starting on day, per the given columns of their first event (all sessions for none)."""
    keys = ", ".join(by)
    rows = execute(settings, f"""
        SELECT {keys + ', ' if keys else ''}count(*) FROM (
          SELECT *, lag(event_ts) OVER (PARTITION BY app_id, user_id ORDER BY event_ts, event_id) AS prev
          FROM raw_events) e
        WHERE dt = '{day}' AND (prev IS NULL
              OR (unix_micros(event_ts) - unix_micros(prev)) / 1000000 > {SESSION_TIMEOUT_S})
        {'GROUP BY ' + keys if keys else ''}""")
    return {tuple(row[:-1]): row[-1] for row in rows}


def time_on_page_s(settings, where: str) -> dict[tuple[str, str], float]:
    """Per (app, page): the average time on page in seconds over the page-leave beacons selected."""
    return {(a, p): s for a, p, s in execute(settings, (
        f"SELECT app_id, page, avg(time_on_page_ms) / 1000 FROM raw_events WHERE {LEAVE} AND {where} "
        "GROUP BY app_id, page"))}


def top_page_sentence(settings, day: date) -> dict[str, str]:
    """Per app, the report's page-traffic sentence for its most viewed page (shares rounded as Hive does)."""
    return dict(execute(settings, f"""
        SELECT app_id, concat(page, ' accounts for ', cast(round(100 * n / total, 1) AS STRING), '% of ',
                              app_id, ' traffic')
        FROM (SELECT app_id, page, n, sum(n) OVER (PARTITION BY app_id) AS total,
                     row_number() OVER (PARTITION BY app_id ORDER BY n DESC, page) AS r
              FROM (SELECT app_id, page, count(*) AS n FROM raw_events
                    WHERE dt = '{day}' AND event_type = 'page_view' GROUP BY app_id, page) c) t
        WHERE r = 1"""))


def newest_minute(settings) -> datetime:
    """The minute of the newest archived event: the Live page's newest minute."""
    newest = scalar(settings, "SELECT cast(max(event_ts) AS STRING) FROM raw_events")
    return datetime.fromisoformat(newest).replace(second=0, microsecond=0)


def last_minutes(settings, minutes: int) -> str:
    """The predicate of the Live page's last `minutes` minutes, up to the newest minute's end."""
    newest = newest_minute(settings)
    first, end = newest - timedelta(minutes=minutes - 1), newest + timedelta(minutes=1)
    return f"event_ts >= '{first}' AND event_ts < '{end}'"


def events_per(settings, column: str, where: str) -> dict[tuple[str, str], int]:
    """Per (app, column value): the events selected."""
    return {(a, k): n for a, k, n in execute(settings, (
        f"SELECT app_id, {column}, count(*) FROM raw_events WHERE {where} GROUP BY app_id, {column}"))}


def transitions(settings, where: str) -> dict[tuple[str, str], int]:
    """Per (app, 'prev -> page'): the page views selected that came from another page."""
    return events_per(settings, "concat(prev_page, ' -> ', page)",
                      f"event_type = 'page_view' AND prev_page IS NOT NULL AND {where}")


def paths(settings, where: str) -> dict[tuple[str, str, str, str], int]:
    """Per (app, previous, page, next page) of each session's page views selected, with a next one.

    A session's page views in event-time order; the previous page is "(entrance)" for its first, and
    a gap of more than 30 minutes ends the session (the live processor's event-time timeout).
    """
    timeout_us = SESSION_TIMEOUT_S * 1_000_000
    rows = execute(settings, f"""
        SELECT app_id, prev, page, next, count(*) FROM (
          SELECT app_id, page, event_ts,
                 CASE WHEN lag_ts IS NULL OR unix_micros(event_ts) - unix_micros(lag_ts) > {timeout_us}
                      THEN '(entrance)' ELSE lag_page END AS prev,
                 CASE WHEN lead_ts IS NOT NULL
                       AND unix_micros(lead_ts) - unix_micros(event_ts) <= {timeout_us}
                      THEN lead_page END AS next
          FROM (SELECT app_id, page, event_ts,
                       lag(page) OVER w AS lag_page, lag(event_ts) OVER w AS lag_ts,
                       lead(page) OVER w AS lead_page, lead(event_ts) OVER w AS lead_ts
                FROM raw_events WHERE event_type = 'page_view'
                WINDOW w AS (PARTITION BY app_id, session_id ORDER BY event_ts, event_id)) v) p
        WHERE next IS NOT NULL AND {where}
        GROUP BY app_id, prev, page, next""")
    return {tuple(row[:4]): row[4] for row in rows}


# --- The daily tables, recomputed (issue 25: every table against raw events) ---------------------

SESSION_FIELDS = ("end_ts", "duration_s", "events", "page_views", "bounce", "entry_page", "exit_page",
                  "channel", "device_type", "browser", "os", "country", "city", "is_bot", "is_new_user",
                  "converted", "revenue")


def sessions(settings, day: date) -> dict[tuple[str, str, str], dict]:
    """Per (app, user, start time) of each session starting on day: the ``sessions`` table's columns
    (SESSION_FIELDS), and ``pages``, its page views' pages in order.

    Sessions cut event by event with window functions (a running count of the gaps over 30 minutes),
    not by the job's 30-minute slots; a session's attributes are its first event's (ties broken by
    event id), its entry and exit pages its first and last page views. The channel rules are the
    platform's (UTM medium, then the referrer's host), restated here as a CASE over the same patterns.
    """
    from clickstream.batch.sessions import SEARCH_ENGINES, SOCIAL_NETWORKS

    timeout_us = SESSION_TIMEOUT_S * 1_000_000
    rows = execute(settings, f"""
        SELECT app_id, user_id, cast(min(event_ts) AS STRING), cast(max(event_ts) AS STRING),
               (unix_micros(max(event_ts)) - unix_micros(min(event_ts))) / 1000000,
               count(*), sum(if(event_type = 'page_view', 1, 0)),
               to_json(sort_array(collect_list(if(event_type = 'page_view',
                                          named_struct('t', event_ts, 'i', event_id, 'p', page), NULL)))),
               to_json(min(named_struct('t', event_ts, 'i', event_id, 'device', device_type,
                                'browser', browser, 'os', os, 'country', country, 'city', city,
                                'visit', visit_number, 'medium', utm_medium, 'referrer', referrer))),
               max(is_bot), sum(if(event_type = 'purchase', 1, 0)),
               coalesce(sum(if(event_type = 'purchase', value, NULL)), 0)
        FROM (SELECT *, sum(gap) OVER (PARTITION BY app_id, user_id ORDER BY event_ts, event_id
                                       ROWS UNBOUNDED PRECEDING) AS n
              FROM (SELECT *, if(prev IS NULL OR unix_micros(event_ts) - unix_micros(prev) > {timeout_us},
                                 1, 0) AS gap
                    FROM (SELECT *, lag(event_ts) OVER (PARTITION BY app_id, user_id
                                                        ORDER BY event_ts, event_id) AS prev
                          FROM raw_events) e) g) s
        GROUP BY app_id, user_id, n
        HAVING to_date(min(event_ts)) = '{day}'""")

    def channel(medium, referrer) -> str:
        if medium in ("cpc", "ppc", "paid_social", "display"):
            return "paid"
        if medium in ("email", "social", "referral"):
            return medium
        if referrer is None:
            return "direct"
        if re.search(SEARCH_ENGINES, referrer):
            return "search"
        return "social" if re.search(SOCIAL_NETWORKS, referrer) else "referral"

    out = {}
    for app, user, start, end, duration, events, views, pages, first, bot, purchases, revenue in rows:
        # Structs come back as JSON text (to_json), whatever the client makes of complex types.
        pages, first = [p["p"] for p in json.loads(pages)], json.loads(first)
        out[(app, user, start)] = dict(zip(SESSION_FIELDS, (
            end, float(duration), events, views, views <= 1, pages[0] if pages else None,
            pages[-1] if pages else None, channel(first.get("medium"), first.get("referrer")),
            *[first.get(k) for k in ("device", "browser", "os", "country", "city")], bool(bot),
            first.get("visit") == 1, purchases > 0, float(revenue)), strict=True), pages=pages)
    return out


def day_counts(settings, day: date, *by: str) -> dict[tuple, tuple]:
    """Per the given columns: events, page views, users, bot events, carts, purchases, errors (5xx page
    views) of the events on day."""
    keys = ", ".join(by)
    rows = execute(settings, f"""
        SELECT {keys}, count(*), sum(if(event_type = 'page_view', 1, 0)), count(DISTINCT user_id),
               sum(if(is_bot, 1, 0)), sum(if(event_type = 'add_to_cart', 1, 0)),
               sum(if(event_type = 'purchase', 1, 0)),
               sum(if(event_type = 'page_view' AND http_status >= 500, 1, 0))
        FROM raw_events WHERE dt = '{day}' GROUP BY {keys}""")
    return {tuple(r[:len(by)]): tuple(r[len(by):]) for r in rows}


def page_traffic(settings, day: date) -> dict[tuple[str, str], tuple]:
    """Per (app, page) viewed on day: users with any event on it, page views, and the share of the app's
    page views in % to one decimal (Hive's rounding, half up, of 100 times the share)."""
    return {(a, p): (u, v, pct) for a, p, u, v, pct in execute(settings, f"""
        SELECT app_id, page, users, views, round(100 * (views / sum(views) OVER (PARTITION BY app_id)), 1)
        FROM (SELECT app_id, page, count(DISTINCT user_id) AS users,
                     sum(if(event_type = 'page_view', 1, 0)) AS views
              FROM raw_events WHERE dt = '{day}' GROUP BY app_id, page) p
        WHERE views > 0""")}
