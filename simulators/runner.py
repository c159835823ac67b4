"""Run a site's simulated users live (and start its backfills: simulators/backfill.py), all through the
site's own HTTP endpoints (simulators/client.py).

Users fetch real pages (so response times and statuses are measured) and
post their events in batches to ``/collect`` like a browser tracker. A 503
is retried with backoff until the collector takes the batch; nothing is
dropped silently: the ledger's ``generated`` minus ``sent`` shows anything
a stop left unsent.

A user spends nearly all its time reading a page, so users are not threads: each is a generator
that yields how long it waits, a scheduler thread keeps them in a heap by when they act next, and a
small pool of threads (``USER_WORKERS``) runs their actions. A thousand users per site are then a
thousand generators and a few dozen threads; with a thread each, the site process's own request
threads starved (measured: docs/benchmarks.md, "1,000 users per site through the collectors").
"""

from __future__ import annotations

import heapq
import logging
import math
import queue
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from inspect import GEN_CREATED, getgeneratorstate

from clickstream.contracts import hour_key
from simulators.backfill import Backfills
from simulators.client import Client, Sender
from simulators.in_flight import InFlight
from simulators.journey import SESSION_TIMEOUT_S, build_event, corrupt, iso, plan_session
from simulators.ledger import Ledger
from simulators.population import Visitor, hex_id
from simulators.sites import SITES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimulationParams:
    """Parameters of a live simulation (POST /simulation/start)."""

    users: int = 10
    rate: float = 1.0  # time compression: simulated seconds per wall-clock second
    seed: int = 42
    duration_s: float | None = None  # wall-clock seconds; None runs until stopped
    bot_share: float = 0.05
    malformed_share: float = 0.01
    new_user_share: float = 0.5  # chance that the next session in a browser slot is a new visitor
    batch_size: int = 20
    flush_s: float = 2.0

    def __post_init__(self) -> None:
        if not 1 <= self.users <= 5000:
            raise ValueError("users must be between 1 and 5000")
        if not 0.01 <= self.rate <= 10_000:
            raise ValueError("rate must be between 0.01 and 10000")
        if self.duration_s is not None and not 0 < self.duration_s <= 30 * 86400:
            raise ValueError("duration_s must be positive (at most 30 days)")
        for name in ("bot_share", "malformed_share", "new_user_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if not 1 <= self.batch_size <= 1000:
            raise ValueError("batch_size must be between 1 and 1000")


USER_WORKERS = 32  # threads running the live users' actions, per site


class Simulation:
    """The live simulation and backfill jobs of one site."""

    def __init__(self, app_id: str, base_url: str, ledger: Ledger):
        self.app_id = app_id
        self.site = SITES[app_id]
        self.base_url = base_url
        self.ledger = ledger
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None
        self.params: SimulationParams | None = None
        self.started_at: datetime | None = None
        self.counters = {"generated": 0, "sent": 0, "rejected": 0, "retries": 0, "unsent": 0,
                         "page_views": 0, "sessions": 0}
        self._recent: deque[tuple[float, int]] = deque(maxlen=600)
        # Every count of this site's simulated events, from generated to sent or unsent, goes through it.
        self.in_flight = InFlight(self._account)
        self.sender = Sender(self.in_flight, self._count)
        self._backfills = Backfills(app_id, self.site, base_url, self.in_flight, self.sender)

    # -- status --------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Return whether live users are running."""
        return self._scheduler is not None and self._scheduler.is_alive()

    def _account(self, hour: tuple[str, int], metric: str, n: int) -> None:
        """Count simulated events in the ledger and the counters alike (InFlight calls this, under its lock).

        Sent is counted when the collector takes a batch, whether or not its answer reaches the user.
        """
        self.ledger.add(hour, metric, n)
        self._count(metric, n)

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] += n
            if name == "sent":
                self._recent.append((time.monotonic(), n))

    def status(self) -> dict:
        """Return state, parameters, rates and counters."""
        now = time.monotonic()
        with self._lock:
            recent = sum(n for t, n in self._recent if now - t <= 10)
            counters = dict(self.counters)
        return {
            "app_id": self.app_id,
            "state": "running" if self.running else "idle",
            "params": asdict(self.params) if self.params else None,
            "started_at": iso(self.started_at) if self.started_at else None,
            "rates": {"events_sent_per_s_10s": round(recent / 10, 1)},
            "counters": counters,
            "ledger": self.ledger.totals(),
            "backfills": list(self._backfills.jobs),
        }

    # -- live users ----------------------------------------------------------

    def start(self, params: SimulationParams) -> None:
        """Start params.users live users; raise RuntimeError if already running."""
        if self.running:
            raise RuntimeError("a simulation is already running; stop it first")
        self._stop = threading.Event()
        self.params = params
        self.started_at = datetime.now(UTC)
        deadline = time.monotonic() + params.duration_s if params.duration_s else None
        self._scheduler = threading.Thread(target=self._run_users, args=(params, self._stop, deadline),
                                           name=f"users-{self.app_id}", daemon=True)
        self._scheduler.start()
        log.info("started %d users on %s (rate %.1f, seed %d)", params.users, self.app_id,
                 params.rate, params.seed)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop live users; each posts what it has buffered before it exits."""
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.join(timeout)

    def _run_users(self, p: SimulationParams, stop: threading.Event, deadline: float | None) -> None:
        """Advance every user when it is due, on a pool of threads, until all have ended.

        A user is a generator yielding the simulated seconds it waits next; it is sent True when it
        must stop (stop requested, or the deadline passed) and then posts what it buffered and ends.
        """
        users = {i: self._user(i, p, stop) for i in range(p.users)}
        now = time.monotonic()
        due = [(now, i) for i in users]   # a heap of (when, user); a user being advanced is not in it
        done: queue.SimpleQueue = queue.SimpleQueue()   # (user, seconds it waits next, None: ended)

        def advance(i: int, stopping: bool) -> None:
            user = users[i]
            try:
                seconds = user.send(None if getgeneratorstate(user) == GEN_CREATED else stopping)
            except StopIteration:
                seconds = None
            except Exception:  # noqa: BLE001 - one user's bug must not stop the others
                log.exception("simulated user %d of %s failed", i, self.app_id)
                seconds = None
            done.put((i, seconds))

        with ThreadPoolExecutor(max_workers=min(p.users, USER_WORKERS),
                                thread_name_prefix=f"user-{self.app_id}") as pool:
            while users:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    stop.set()
                stopping = stop.is_set()
                while due and (stopping or due[0][0] <= now):
                    pool.submit(advance, heapq.heappop(due)[1], stopping)
                # Until the next user is due or an action ends; at most 0.5 s, so a stop is seen.
                wake = min(0.5, due[0][0] - now) if due else 0.5
                if deadline is not None:
                    wake = min(wake, deadline - now)
                try:
                    ended = [done.get(timeout=max(0.0, wake))]
                except queue.Empty:
                    continue
                while True:
                    for i, seconds in ended:
                        if seconds is None:
                            del users[i]
                        else:
                            heapq.heappush(due, (time.monotonic() + seconds / p.rate, i))
                    try:
                        ended = [done.get_nowait()]
                    except queue.Empty:
                        break

    def _user(self, index: int, p: SimulationParams, stop: threading.Event) -> Generator[float, bool, None]:
        """One simulated user: yields the simulated seconds it waits; sent True when it must stop."""
        rng = random.Random(f"{p.seed}:{self.app_id}:user:{index}")
        visitor = Visitor.draw(rng, p.bot_share)
        client = Client(self.base_url, visitor)
        buffer: list[dict] = []
        first_buffered = 0.0

        while not stop.is_set():
            plan = plan_session(self.site, visitor, rng)
            visitor.visits += 1
            session_id = hex_id(rng, "s")
            self._count("sessions")
            stopped = False
            for step in plan.steps:
                if step.delay_s >= SESSION_TIMEOUT_S:
                    visitor.visits += 1
                    session_id = hex_id(rng, "s")
                    self._count("sessions")
                if (yield step.delay_s):
                    stopped = True
                    break
                rt = status = None
                if step.event_type == "page_view":
                    rt, status = client.fetch(step.page)
                    self._count("page_views")
                event = build_event(self.app_id, visitor, session_id, visitor.visits,
                                    plan.attribution, step, datetime.now(UTC), rng, rt, status)
                # The seed makes the visitors and their journeys; an event of a live run is new, even
                # when a run with the same seed came before (its id drawn from the seed would repeat
                # that run's, and the stream drops repeated ids as duplicates).
                event["event_id"] = str(uuid.uuid4())
                if rng.random() < p.malformed_share:
                    event = corrupt(event, rng)
                if not self.in_flight.generate([hour_key(event.get("event_time"))]):
                    return  # the site has stopped: what this user held is accounted already
                if not buffer:
                    first_buffered = time.monotonic()
                buffer.append(event)
                if len(buffer) >= p.batch_size or time.monotonic() - first_buffered >= p.flush_s:
                    self.sender.send(client, buffer, stop)
                    buffer = []
                if status is not None and status >= 500 and rng.random() < 0.5:
                    break  # the visitor gives up on a broken site
            self.sender.send(client, buffer, stop)
            buffer = []
            if stopped or (yield rng.lognormvariate(math.log(30), 0.8)):
                break
            if rng.random() < p.new_user_share:
                visitor = Visitor.draw(rng, p.bot_share)
                client.set_visitor(visitor)
        self.sender.send(client, buffer, stop)

    def settle_stop(self, timeout: float) -> None:
        """At the site's stop: stop the users, then account every batch its collector never took."""
        self.stop(timeout)
        self.in_flight.settle()

    # -- backfill ------------------------------------------------------------

    def backfill(self, start: date, end: date, events_per_day: int, seed: int = 42,
                 bot_share: float = 0.05, malformed_share: float = 0.01) -> dict:
        """Start generating past days in the background; return the job record."""
        return self._backfills.start(start, end, events_per_day, seed, bot_share, malformed_share)
