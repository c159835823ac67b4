"""Plan visitor sessions and turn them into Event v1 dicts.

Planning is pure: the same random generator state gives the same pages,
sections, clicks and dwell times. Live users replay a plan in (compressed)
real time; backfills replay it on a simulated clock.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from simulators.population import Visitor, draw_channel, pick, server_error, server_latency_ms
from simulators.sites import EXIT, Site

SESSION_TIMEOUT_S = 30 * 60
PING_EVERY_S = 15.0
# `element` of the engagement ping a tracker sends when the visitor leaves a page.
LEAVE_BEACON = "page_leave"
# `element` of the engagement ping a tracker sends when a section leaves the viewport (or the page is left
# while it is in view): `section` names it, `time_on_page_ms` is how long it was in view.
SECTION_LEAVE = "section_leave"
MAX_PAGES = 40


@dataclass(frozen=True)
class Step:
    """One planned client event, `delay_s` simulated seconds after the previous one."""

    delay_s: float
    event_type: str
    page: str
    prev_page: str | None
    section: str | None = None
    element: str | None = None
    value: float | None = None
    time_on_page_ms: int | None = None


@dataclass(frozen=True)
class SessionPlan:
    """A planned visit: traffic source and the ordered steps."""

    channel: str
    attribution: dict[str, str | None]
    steps: tuple[Step, ...]


def zipf_weights(n: int, s: float = 1.1) -> list[float]:
    """Return Zipf weights for ranks 1..n."""
    return [1.0 / (rank**s) for rank in range(1, n + 1)]


def _concrete(site: Site, page_type: str, rng: random.Random) -> str:
    page = site.pages[page_type]
    if not page.slugs:
        return page.path
    slug = rng.choices(page.slugs, weights=zipf_weights(len(page.slugs)))[0]
    return page.path.format(slug=slug)


def _page_steps(
    site: Site, page_type: str, path: str, prev: str | None, arrive_delay: float,
    rng: random.Random, bot: bool, leaving_to: str,
) -> list[Step]:  # fmt: skip
    """Plan the events of one page visit, ending with an engagement ping of the total dwell."""
    page = site.pages[page_type]
    steps = [Step(arrive_delay, "page_view", path, prev)]
    if bot:
        return steps
    dwell = max(2.0, rng.lognormvariate(0, 0.6) * page.dwell_s)
    # Interactions at offsets within the dwell time; pings every PING_EVERY_S.
    moments: list[tuple[float, Step]] = []
    n_seen = min(len(page.sections), 1 + int(rng.random() * len(page.sections)))
    seen: list[tuple[float, float, str]] = []  # (in view from, its last interaction, section)
    for i, section in enumerate(page.sections[:n_seen]):
        at = last = dwell * (i + rng.random()) / (n_seen + 1)
        moments.append((at, Step(0, "section_view", path, prev, section)))
        if rng.random() < 0.45:
            moments.append((last := at + 0.5, Step(0, "section_scroll", path, prev, section)))
        if rng.random() < 0.25:
            moments.append((last := at + 1.0, Step(0, "section_hover", path, prev, section)))
        if rng.random() < 0.20:
            moments.append((last := at + 1.5, Step(0, "section_click", path, prev, section, section)))
        seen.append((at, last, section))
    for section, element in page.buttons:
        if section in page.sections[:n_seen] and rng.random() < 0.12:
            moments.append((dwell * rng.uniform(0.3, 0.9),
                            Step(0, "button_click", path, prev, section, element)))
    t = PING_EVERY_S
    while t < dwell:
        moments.append((t, Step(0, "engagement_ping", path, prev, time_on_page_ms=int(t * 1000))))
        t += PING_EVERY_S
    lo, hi = site.price_range
    if site.cart_button and page_type == site.cart_button[0] and leaving_to == "cart":
        section = next(s for s, e in page.buttons if e == site.cart_button[1])
        at = dwell * 0.95
        moments.append((at, Step(0, "button_click", path, prev, section, site.cart_button[1])))
        moments.append((at + 0.2, Step(0, "add_to_cart", path, prev, section, site.cart_button[1],
                                       value=round(rng.uniform(lo, hi), 2))))
    if page_type == site.conversion_page:
        moments.append((0.8, Step(0, "purchase", path, prev, page.sections[0], "order",
                                  value=round(rng.uniform(lo, hi) * rng.choice((1, 1, 2, 3)), 2))))
    # The visitor scrolls down: a section is in view from its section_view until the next section's (or
    # its own last interaction, if later), the last one until the page is left. Its section-leave beacon
    # goes when it leaves the view.
    for (at, last, section), following in zip(seen, [a for a, _, _ in seen[1:]] + [dwell], strict=True):
        left = min(dwell, max(following, last))
        moments.append((left, Step(0, "engagement_ping", path, prev, section, SECTION_LEAVE,
                                   time_on_page_ms=int(left * 1000) - int(at * 1000))))
    moments.sort(key=lambda m: m[0])
    clock = 0.0
    for at, step in moments:
        at = min(at, dwell)
        steps.append(_delayed(step, at - clock))
        clock = at
    # The last ping is the tracker's page-leave beacon: it carries the whole dwell time.
    steps.append(Step(dwell - clock, "engagement_ping", path, prev, element=LEAVE_BEACON,
                      time_on_page_ms=int(dwell * 1000)))
    return steps


def _delayed(step: Step, delay: float) -> Step:
    return Step(max(0.0, delay), step.event_type, step.page, step.prev_page, step.section,
                step.element, step.value, step.time_on_page_ms)


def plan_session(site: Site, visitor: Visitor, rng: random.Random) -> SessionPlan:
    """Plan one session of a visitor on a site."""
    channel, attribution = draw_channel(rng)
    if visitor.is_bot:
        # Crawlers: fast, deep, indifferent to the site's navigation.
        paths = site.all_paths()
        steps = []
        prev = None
        for _ in range(rng.randint(8, 30)):
            path = rng.choice(paths)
            steps.append(Step(rng.uniform(0.2, 1.5) if prev else 0.0, "page_view", path, prev))
            prev = path
        return SessionPlan(channel, attribution, tuple(steps))

    page_type = pick(rng, site.entries[channel])
    steps: list[Step] = []
    prev: str | None = None
    delay = 0.0
    for _ in range(MAX_PAGES):
        nxt = pick(rng, site.transitions[page_type])
        path = _concrete(site, page_type, rng)
        steps += _page_steps(site, page_type, path, prev, delay, rng, False, str(nxt))
        if nxt == EXIT:
            break
        prev, page_type = path, str(nxt)
        # Navigation gap; now and then the visitor walks away for longer than the session timeout.
        delay = rng.uniform(0.3, 2.0)
        if rng.random() < 0.015:
            delay = rng.uniform(SESSION_TIMEOUT_S + 60, 3 * SESSION_TIMEOUT_S)
    return SessionPlan(channel, attribution, tuple(steps))


def iso(ts: datetime) -> str:
    """Format a UTC timestamp as Event v1 expects: millisecond precision, trailing Z."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def new_event_id(rng: random.Random) -> str:
    """Return a version-4 UUID drawn from rng (deterministic for a seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_event(
    app_id: str, visitor: Visitor, session_id: str, visit_number: int, attribution: dict,
    step: Step, event_time: datetime, rng: random.Random,
    response_time_ms: int | None = None, http_status: int | None = None,
) -> dict:  # fmt: skip
    """Return the Event v1 dict of one step (sent_time is set when its batch is sent)."""
    return {
        "event_id": new_event_id(rng),
        "schema_version": 1,
        "app_id": app_id,
        "event_type": step.event_type,
        "event_time": iso(event_time),
        "sent_time": iso(event_time),
        "user_id": visitor.user_id,
        "session_id": session_id,
        "visit_number": visit_number,
        "page": step.page,
        "prev_page": step.prev_page,
        "section": step.section,
        "element": step.element,
        "time_on_page_ms": step.time_on_page_ms,
        "response_time_ms": response_time_ms,
        "http_status": http_status,
        **attribution,
        "country": visitor.country,
        "city": visitor.city,
        "latitude": visitor.latitude,
        "longitude": visitor.longitude,
        "value": step.value,
    }


# Ways the simulated tracker gets an event wrong. event_time stays as planned, so the
# collector files every rejected event under the same hour the simulator does, and a
# seed gives the same corrupt events on any day it runs (no wall-clock "future" times).
CORRUPTIONS = (
    "drop_field", "bad_event_type", "bad_type", "unknown_field", "bad_user_id",
    "bad_schema_version", "bad_status", "bad_page",
)


def corrupt(event: dict, rng: random.Random) -> dict:
    """Return a copy of an event broken in one of the ways real trackers break them."""
    bad = dict(event)
    kind = rng.choice(CORRUPTIONS)
    if kind == "drop_field":
        del bad[rng.choice(("event_id", "user_id", "session_id", "page", "event_type"))]
    elif kind == "bad_event_type":
        bad["event_type"] = rng.choice(("pageview", "CLICK", "", "scroll"))
    elif kind == "bad_type":
        bad["time_on_page_ms"] = rng.choice(("12s", -5, 3.5))
    elif kind == "unknown_field":
        bad["debug_" + rng.choice(("x", "trace", "tag"))] = True
    elif kind == "bad_user_id":
        bad["user_id"] = rng.choice(("", "anonymous", "u_XYZ"))
    elif kind == "bad_page":
        bad["page"] = rng.choice(("products", "/Products?id=3", "javascript:void(0)"))
    elif kind == "bad_schema_version":
        bad["schema_version"] = 2
    else:
        bad["http_status"] = 999
    return bad


def model_response(site: Site, page: str, hour: int, rng: random.Random) -> tuple[int, int]:
    """Draw response time and status of a page view from the server's model (for backfills)."""
    page_type, _ = site.by_path.get(page, (None, None))
    median = site.pages[page_type].latency_ms if page_type else 50
    status = server_error(rng, hour) or 200
    return server_latency_ms(rng, median, hour), status
