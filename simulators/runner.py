"""Run simulated users live and backfill past days, all through the site's own HTTP endpoints.

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
from datetime import UTC, date, datetime, timedelta
from inspect import GEN_CREATED, getgeneratorstate

import orjson
import requests

from clickstream.contracts import hour_key
from simulators.generate import backfill_seed, day_sessions
from simulators.in_flight import InFlight
from simulators.journey import SESSION_TIMEOUT_S, build_event, corrupt, iso, plan_session
from simulators.ledger import SIMULATED_HEADER, Ledger
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
_local = threading.local()


def _session() -> requests.Session:
    """The calling thread's HTTP session: connections are kept per thread, not per user."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


class Client:
    """HTTP client of one simulated browser against the site."""

    def __init__(self, base_url: str, visitor: Visitor):
        self.base_url = base_url.rstrip("/")
        self.set_visitor(visitor)

    def set_visitor(self, visitor: Visitor) -> None:
        """Send as another visitor from now on."""
        self.headers = {"User-Agent": visitor.user_agent, "X-Forwarded-For": visitor.ip}

    def fetch(self, path: str) -> tuple[int | None, int | None]:
        """GET a page; return (response time ms, status), or (None, None) if unreachable."""
        start = time.perf_counter()
        try:
            resp = _session().get(self.base_url + path, headers=self.headers, timeout=30)
        except requests.RequestException:
            return None, None
        return int((time.perf_counter() - start) * 1000), resp.status_code

    def post(self, events: list[dict], batch_id: str) -> tuple[int, dict]:
        """POST a batch to /collect; return (status, body); status 0 if unreachable."""
        headers = self.headers | {"Content-Type": "application/json", SIMULATED_HEADER: batch_id}
        try:
            resp = _session().post(self.base_url + "/collect", data=orjson.dumps(events), headers=headers,
                                   timeout=30)
        except requests.RequestException as exc:
            return 0, {"error": str(exc)}
        try:
            return resp.status_code, resp.json()
        except ValueError:
            return resp.status_code, {}


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
        self.backfills: list[dict] = []
        # Every count of this site's simulated events, from generated to sent or unsent, goes through it.
        self.in_flight = InFlight(self._account)

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
            "backfills": list(self.backfills),
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
                    self._send(client, buffer, stop)
                    buffer = []
                if status is not None and status >= 500 and rng.random() < 0.5:
                    break  # the visitor gives up on a broken site
            self._send(client, buffer, stop)
            buffer = []
            if stopped or (yield rng.lognormvariate(math.log(30), 0.8)):
                break
            if rng.random() < p.new_user_share:
                visitor = Visitor.draw(rng, p.bot_share)
                client.set_visitor(visitor)
        self._send(client, buffer, stop)

    def _send(self, client: Client, events: list[dict], stop: threading.Event,
              give_up_after_stop_s: float = 30.0, stamp: bool = True) -> bool:
        """Post a batch until the collector takes it; return False if it stayed unsent.

        The collector counts the events as sent when it takes them. A batch given up on because the
        site is stopping is accounted as unsent, exactly once (simulators/in_flight.py).
        """
        if not events:
            return True
        if stamp:
            sent_time = iso(datetime.now(UTC))
            for event in events:
                event["sent_time"] = sent_time
        batch_id = uuid.uuid4().hex
        if not self.in_flight.post(batch_id, [hour_key(e.get("event_time")) for e in events]):
            return False  # the site has stopped: the stop accounted these events as unsent
        backoff = 0.2
        stop_seen: float | None = None
        asked_again = False
        while True:
            status, body = client.post(events, batch_id)
            if status == 200:
                self.in_flight.done(batch_id)
                self._count("rejected", int(body.get("rejected", 0)))
                return True
            if status in (400, 413):  # refused whole: a mismatch the reconciliation must show
                self.in_flight.done(batch_id)
                log.error("collector refused a batch of %d events (%d): %s", len(events), status, body)
                self._count("unsent", len(events))
                return False
            if stop.is_set() or self.in_flight.closed.is_set():
                # Stopping: a collector that is gone is not waited for; one that answers (a broker
                # outage: 503) gets give_up_after_stop_s. No answer at all is asked again once, at once:
                # a kept-alive connection the server closed just as the post went out looks the same as
                # a collector that is gone (a repeat of a batch it took is answered, not taken twice).
                stop_seen = stop_seen or time.monotonic()
                if status == 0 and not asked_again:
                    asked_again = True
                    continue
                if (status == 0 or self.in_flight.closed.is_set()
                        or time.monotonic() - stop_seen > give_up_after_stop_s):
                    log.warning("stopping with %d events unsent: collector answers %s", len(events),
                                status or "nothing")
                    self.in_flight.give_up(batch_id)
                    return False
            self._count("retries")
            stop.wait(backoff)  # a stop cuts the wait short: the next answer decides at once
            backoff = min(backoff * 2, 5.0)

    def settle_stop(self, timeout: float) -> None:
        """At the site's stop: stop the users, then account every batch its collector never took."""
        self.stop(timeout)
        self.in_flight.settle()

    # -- backfill ------------------------------------------------------------

    def backfill(self, start: date, end: date, events_per_day: int, seed: int = 42,
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
        job = {"id": len(self.backfills) + 1, "start_date": start.isoformat(),
               "end_date": end.isoformat(), "events_per_day": events_per_day, "seed": seed,
               "state": "running", "days_done": 0, "events_sent": 0, "events_unsent": 0}
        self.backfills.append(job)
        thread = threading.Thread(target=self._backfill, name=f"backfill-{self.app_id}-{job['id']}",
                                  args=(job, start, end, events_per_day, seed, bot_share,
                                        malformed_share), daemon=True)
        thread.start()
        return job

    def _backfill(self, job, start, end, events_per_day, seed, bot_share, malformed_share):
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
                    ok = self._send(client, batch.events, stop, stamp=False)
                    job["events_sent" if ok else "events_unsent"] += len(batch.events)
                job["days_done"] += 1
                day += timedelta(days=1)
            job["state"] = "done"
        except Exception as exc:  # noqa: BLE001 - report in status rather than die silently
            log.exception("backfill %s failed", job["id"])
            job["state"] = f"failed: {exc}"
