"""A simulated browser's HTTP client of its site, and the tracker's posting of event batches.

``Client`` fetches pages (response time and status measured) and posts batches to ``/collect`` as one
visitor. ``Sender`` posts a batch until the collector takes it, with backoff, accounting every event
through the site's ``InFlight`` exactly once: sent when the collector takes it, unsent when a stop gives
up on it, and never dropped silently.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import requests

from clickstream.contracts import hour_key
from simulators.in_flight import InFlight
from simulators.journey import iso
from simulators.ledger import SIMULATED_HEADER
from simulators.population import Visitor

log = logging.getLogger(__name__)

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


class Sender:
    """Posts a site's event batches (live users and backfills alike)."""

    def __init__(self, in_flight: InFlight, count: Callable[..., None]):
        self.in_flight = in_flight
        self.count = count  # count(name, n=1): the simulation's counters (rejected, unsent, retries)

    def send(self, client: Client, events: list[dict], stop: threading.Event,
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
                self.count("rejected", int(body.get("rejected", 0)))
                return True
            if status in (400, 413):  # refused whole: a mismatch the reconciliation must show
                self.in_flight.done(batch_id)
                log.error("collector refused a batch of %d events (%d): %s", len(events), status, body)
                self.count("unsent", len(events))
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
            self.count("retries")
            stop.wait(backoff)  # a stop cuts the wait short: the next answer decides at once
            backoff = min(backoff * 2, 5.0)
