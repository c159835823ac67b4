"""Backfills of past days through the site's own collector: a job per request, run in the background.

Each day's sessions come from the generator with a seed per site and day (``backfill_seed``), so a
backfill sends the same events whenever it runs; they keep their sent_time on the simulated clock.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, date, datetime, timedelta

from clickstream.contracts import hour_key
from simulators.client import Client, Sender
from simulators.generate import backfill_seed, day_sessions
from simulators.in_flight import InFlight
from simulators.sites import Site

log = logging.getLogger(__name__)


class Backfills:
    """The backfill jobs of one site, each a record its status shows."""

    def __init__(self, app_id: str, site: Site, base_url: str, in_flight: InFlight, sender: Sender):
        self.app_id, self.site, self.base_url = app_id, site, base_url
        self.in_flight, self.sender = in_flight, sender
        self.jobs: list[dict] = []

    def start(self, start: date, end: date, events_per_day: int, seed: int = 42,
              bot_share: float = 0.05, malformed_share: float = 0.01) -> dict:
        """Start generating past days in the background; return the job record."""
        if end < start:
            raise ValueError("end_date is before start_date")
        if (end - start).days > 366:
            raise ValueError("a backfill covers at most 366 days")
        if end >= datetime.now(UTC).date():
            raise ValueError("backfills are for past days: end_date must be before today (UTC)")
        if not 1 <= events_per_day <= 50_000_000:
            raise ValueError("events_per_day must be between 1 and 50000000")
        job = {"id": len(self.jobs) + 1, "start_date": start.isoformat(),
               "end_date": end.isoformat(), "events_per_day": events_per_day, "seed": seed,
               "state": "running", "days_done": 0, "events_sent": 0, "events_unsent": 0}
        self.jobs.append(job)
        thread = threading.Thread(target=self._run, name=f"backfill-{self.app_id}-{job['id']}",
                                  args=(job, start, end, events_per_day, seed, bot_share,
                                        malformed_share), daemon=True)
        thread.start()
        return job

    def _run(self, job, start, end, events_per_day, seed, bot_share, malformed_share):
        stop = threading.Event()  # a backfill runs to completion
        try:
            day = start
            while day <= end:
                rng = random.Random(backfill_seed(seed, self.app_id, day))
                client: Client | None = None
                for batch in day_sessions(self.site, day, events_per_day, rng, bot_share=bot_share,
                                          malformed_share=malformed_share):
                    if client is None:
                        client = Client(self.base_url, batch.visitor)
                    client.set_visitor(batch.visitor)
                    if not self.in_flight.generate(hour_key(e.get("event_time")) for e in batch.events):
                        raise RuntimeError("the site stopped before the backfill ended")
                    # A past session keeps its sent_time on the simulated clock.
                    ok = self.sender.send(client, batch.events, stop, stamp=False)
                    job["events_sent" if ok else "events_unsent"] += len(batch.events)
                job["days_done"] += 1
                day += timedelta(days=1)
            job["state"] = "done"
        except Exception as exc:  # noqa: BLE001 - report in status rather than die silently
            log.exception("backfill %s failed", job["id"])
            job["state"] = f"failed: {exc}"
