"""Load mode: many realistic, collector-enriched events on a chosen timeline, for benchmarks and tests
(not the product: the simulators send their events through the collectors).

The simulator's own generator plans the sessions of all three sites; each
event is enriched exactly as the collector would (from its visitor's user
agent and IP) and then placed on a timeline: ``start + i / rate`` in the
generated order of event time, so a stream produced at ``rate`` events per
second carries event and receive times of "now" (or a compressed clock). Journeys, pages, sections,
bots, response times and errors keep the generator's distributions; only the
clock is compressed.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from simulators.enrich import enrichment
from simulators.generate import day_sessions
from simulators.journey import iso
from simulators.sites import SITES


def settled_day(now: datetime | None = None) -> date:
    """Return a recent day whose every session has ended at least 12 hours before `now`.

    Sessions that start late in a day run past its midnight, so events of plain "yesterday"
    are still in the future for the first minutes after midnight UTC; a collector rejects them.
    """
    return ((now or datetime.now(UTC)) - timedelta(days=1, hours=12)).date()


def site_events(day: date, n: int, seed: str) -> Iterator[dict]:
    """Yield about n valid enriched events of the three sites on one day, in event-time order."""
    per_site = []
    for name, site in SITES.items():
        rng = random.Random(f"{seed}-{name}")
        events = []
        for batch in day_sessions(site, day, n // len(SITES), rng, malformed_share=0):
            extra = enrichment(batch.visitor.ip, batch.visitor.user_agent, "")
            events += [e | extra | {"received_time": e["event_time"]} for e in batch.events]
        events.sort(key=lambda e: e["event_time"])
        per_site.append(events)
    yield from heapq.merge(*per_site, key=lambda e: e["event_time"])


def retimed(events: Iterator[dict], start: datetime, rate: float, speed: float = 1.0,
            received_start: datetime | None = None) -> Iterator[dict]:
    """Place events `rate` per second from `start`; event time runs `speed` times faster than receive time.

    With speed > 1 a short run covers several minutes of event time (start it
    far enough in the past that event time never overtakes receive time).
    """
    received_start = received_start or start
    for i, event in enumerate(events):
        when = iso(start + timedelta(seconds=i * speed / rate))
        received = iso(received_start + timedelta(seconds=i / rate))
        yield event | {"event_time": when, "sent_time": when, "received_time": received}
