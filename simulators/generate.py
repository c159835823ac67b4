"""Generate whole days of events on a simulated clock (backfills, benchmarks, tests)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from simulators.journey import SESSION_TIMEOUT_S, build_event, corrupt, iso, model_response, plan_session
from simulators.population import HOURLY_TRAFFIC, Visitor, hex_id
from simulators.sites import Site

RETURNING_SHARE = 0.35


@dataclass
class VisitBatch:
    """The events of one session, sent together as the visitor's browser would."""

    visitor: Visitor
    events: list[dict]


def day_sessions(
    site: Site, day: date, events_per_day: int, rng: random.Random, *,
    bot_share: float = 0.05, malformed_share: float = 0.01,
) -> Iterator[VisitBatch]:  # fmt: skip
    """Yield the sessions of one day until exactly events_per_day events were generated."""
    visitors: list[Visitor] = []
    total = 0
    midnight = datetime.combine(day, time(0), UTC)
    while total < events_per_day:
        hour = rng.choices(range(24), weights=HOURLY_TRAFFIC)[0]
        clock = midnight + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
        if visitors and rng.random() < RETURNING_SHARE:
            visitor = rng.choice(visitors)
        else:
            visitor = Visitor.draw(rng, bot_share)
            visitors.append(visitor)
        plan = plan_session(site, visitor, rng)
        visitor.visits += 1
        session_id = hex_id(rng, "s")
        events = []
        for step in plan.steps:
            if total + len(events) >= events_per_day:
                break
            if step.delay_s >= SESSION_TIMEOUT_S:
                visitor.visits += 1
                session_id = hex_id(rng, "s")
            clock += timedelta(seconds=step.delay_s)
            rt, status = (model_response(site, step.page, clock.hour, rng)
                          if step.event_type == "page_view" else (None, None))
            event = build_event(site.name, visitor, session_id, visitor.visits, plan.attribution,
                                step, clock, rng, rt, status)
            event["sent_time"] = iso(clock + timedelta(seconds=rng.uniform(0.05, 3.0)))
            if rng.random() < malformed_share:
                event = corrupt(event, rng)
            events.append(event)
        total += len(events)
        yield VisitBatch(visitor, events)


def backfill_seed(seed: int, app_id: str, day: date) -> str:
    """Return the random seed of one app's backfill of one day."""
    return f"{seed}:{app_id}:backfill:{day.isoformat()}"
