"""Every event the simulated users generate, from generated to sent or unsent, accounted once across a stop.

The users post to their own site, in their own process. When the site stops, it no longer serves, and
a post may hang or never be answered; a user thread may still be mid-step. So the ledger's counts of
this site's simulated events change only here, under one lock:

- ``generate``: an event is made (``generated``) and held in a user's buffer;
- ``post``: a buffered batch is posted; ``claim``, then ``take`` or ``release``: the collector (this
  process) reserves it before producing it, then counts it ``sent``, or hands it back. A batch posted
  again after the collector took it (the answer was lost: a connection closed under it) is answered
  again and neither produced nor counted twice;
- ``give_up``: a user gives up on an untaken batch (``unsent``);
- ``settle``, at the stop: every event still held, and every posted batch the collector never took,
  becomes ``unsent``, and the site is closed. After that nothing is generated and nothing is counted
  again, so the ledger's last flush holds ``generated = sent + unsent`` for every hour, however late
  a user thread notices the stop.
"""

from __future__ import annotations

import enum
import threading
from collections import Counter
from collections.abc import Callable, Iterable

Hour = tuple[str, int]
Count = Callable[[Hour, str, int], None]  # (hour, "generated" | "sent" | "unsent", events)


class Claim(enum.Enum):
    """What the collector does with a batch of this site's users (``InFlight.claim``)."""

    NEW = "produce it"
    TAKEN = "answer as before, produce nothing"
    BUSY = "another request is producing it: retry later"
    CLOSED = "the site has stopped: retry later"


class InFlight:
    """The site's simulated events not yet sent or given up: held in buffers, or posted and unanswered."""

    def __init__(self, count: Count):
        self._count = count
        self._lock = threading.Lock()
        self._held: Counter = Counter()  # generated, not posted yet
        self._posted: dict[str, list[Hour]] = {}
        self._taken: set[str] = set()
        self._claimed: dict[str, list[Hour]] = {}  # being produced by the collector right now
        self.closed = threading.Event()  # set at the stop: nothing more is generated or posted

    def generate(self, hours: Iterable[Hour]) -> bool:
        """Count events as generated and held; False (nothing counted) once the site has stopped."""
        with self._lock:
            if self.closed.is_set():
                return False
            for hour, n in Counter(hours).items():
                self._held[hour] += n
                self._count(hour, "generated", n)
            return True

    def post(self, batch_id: str, hours: list[Hour]) -> bool:
        """A held batch is about to be posted; False once the site has stopped (the stop accounted it)."""
        with self._lock:
            if self.closed.is_set():
                return False
            self._held.subtract(hours)
            self._posted[batch_id] = hours
            return True

    def claim(self, batch_id: str) -> Claim:
        """The collector is about to produce a batch: ``NEW`` to produce it; ``TAKEN``, a repeat of a batch
        it produced (the user did not get the answer): answer again, produce nothing; ``BUSY``, the same
        batch is being produced by another request; ``CLOSED``, the site has stopped (answer 503)."""
        with self._lock:
            if self.closed.is_set():
                return Claim.CLOSED
            if batch_id in self._taken:
                return Claim.TAKEN
            if batch_id in self._claimed:
                return Claim.BUSY
            if batch_id in self._posted:
                self._claimed[batch_id] = self._posted[batch_id]
            return Claim.NEW

    def take(self, batch_id: str, hours: Counter) -> None:
        """The collector produced a claimed batch of this site's users: its events are sent."""
        with self._lock:
            for hour, n in hours.items():
                self._count(hour, "sent", n)
            if self._claimed.pop(batch_id, None) is not None and batch_id in self._posted:
                self._taken.add(batch_id)

    def release(self, batch_id: str) -> None:
        """The collector could not produce a claimed batch: it is the user's again, or unsent after a stop."""
        with self._lock:
            hours = self._claimed.pop(batch_id, None)
            if hours is not None and self.closed.is_set():
                for hour, n in Counter(hours).items():
                    self._count(hour, "unsent", n)

    def done(self, batch_id: str) -> None:
        """The user saw the collector's answer: nothing to account at a stop."""
        with self._lock:
            self._posted.pop(batch_id, None)
            self._taken.discard(batch_id)

    def give_up(self, batch_id: str) -> int:
        """The user gives up on a batch: unsent, unless the collector took it or the stop settled it."""
        with self._lock:
            hours = self._posted.pop(batch_id, [])
            taken = batch_id in self._taken
            self._taken.discard(batch_id)
            if taken:
                return 0
            for hour, n in Counter(hours).items():
                self._count(hour, "unsent", n)
            return len(hours)

    def settle(self) -> int:
        """At the stop: close, and count unsent every held event and every posted batch never taken."""
        with self._lock:
            self.closed.set()
            # A claimed batch is counted when the collector takes or releases it.
            left = +self._held + Counter(h for batch, hours in self._posted.items()
                                         if batch not in self._taken and batch not in self._claimed
                                         for h in hours)
            for hour, n in left.items():
                self._count(hour, "unsent", n)
            self._held.clear()
            self._posted.clear()
            self._taken.clear()
        return sum(left.values())
