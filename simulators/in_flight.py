"""The batches the simulated users have posted and not seen answered: what a stop leaves unsent.

The users post to their own site, in their own process. When the site stops, it no longer serves, and
a post may hang or never be answered. The collector marks each batch it takes (in this process), so at
the stop every batch is accounted exactly once: taken (the collector counted it as sent) or unsent.
"""

from __future__ import annotations

import threading
from collections import Counter

Hour = tuple[str, int]


class InFlight:
    """Posted batches (by id) with their events' hours; which of them the collector took."""

    def __init__(self):
        self._lock = threading.Lock()
        self._posted: dict[str, list[Hour]] = {}
        self._taken: set[str] = set()
        self.closed = threading.Event()  # set at the stop: nothing more is posted

    def post(self, batch_id: str, hours: list[Hour]) -> None:
        """Record a batch about to be posted (once, however often it is retried)."""
        with self._lock:
            self._posted[batch_id] = hours

    def taken(self, batch_id: str) -> None:
        """The collector took this batch (it counted its events as sent)."""
        with self._lock:
            if batch_id in self._posted:
                self._taken.add(batch_id)

    def done(self, batch_id: str) -> None:
        """The user saw the collector's answer: nothing to account at a stop."""
        with self._lock:
            self._posted.pop(batch_id, None)
            self._taken.discard(batch_id)

    def give_up(self, batch_id: str) -> Counter:
        """The user gives up on a batch: return its events per hour to account as unsent (none if settled)."""
        with self._lock:
            hours = self._posted.pop(batch_id, [])
            taken = batch_id in self._taken
            self._taken.discard(batch_id)
        return Counter() if taken else Counter(hours)

    def settle(self) -> Counter:
        """At the stop: close, and return the events of every unanswered batch the collector never took."""
        self.closed.set()
        with self._lock:
            left = Counter(h for batch, hours in self._posted.items() if batch not in self._taken
                           for h in hours)
            self._posted.clear()
            self._taken.clear()
        return left
