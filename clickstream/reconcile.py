"""Hourly reconciliation: the simulators' ledger against the dead-letter topic, raw_events and hourly_pages.

For each app and UTC hour of event time, five counts from four places must agree:

- the ledger (``sim_ledger``, summed over simulator runs): what the simulated users
  ``generated``, what the collector took from them (``sent``) and from other clients
  (``external``), what the users gave up on because their site was stopping (``unsent``:
  accounted, not a mismatch), and what the collector's producer had acknowledged as
  ``accepted`` (events topic) or ``rejected`` (dead-letter topic), per reason;
- the dead-letter topic itself: ``dead_lettered``, per reason, each record counted under
  the hour the ledger uses (``clickstream.contracts.hour_key`` of its event's time, else
  of its receive time). Requests the collector refused whole (reason ``request:…``) have
  a record there too and a count in the ledger's reasons: they are compared per reason,
  but are no events, so ``dead_lettered`` leaves them out;
- ``raw_events``: what the streaming job ``archived``;
- ``hourly_pages``: what the hourly job ``aggregated`` (sum of ``events``).

Every disagreement becomes a sentence that names both numbers and where the events went
missing. The results, one row per app, overwrite the hour's partition of the
``reconciliation`` table (the dashboard's pipeline page shows it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from clickstream.contracts import hour_key, parse_time
from clickstream.sql import string_literal

# How long before an hour the dead-letter scan starts: records are produced when the collector
# receives them, which for an hour's events is after the hour starts, give or take clock skew.
DLQ_LOOKBACK = timedelta(hours=1)
REQUEST_REASON = "request:"  # the reasons of whole requests the collector refused (simulators/collector.py)
COUNTS = ("generated", "sent", "accepted", "rejected", "dead_lettered", "archived", "aggregated")
COLUMNS = [("app_id", "STRING"), *[(c, "BIGINT") for c in COUNTS], ("status", "STRING"),
           ("message", "STRING"), ("checked_at", "TIMESTAMP")]  # fmt: skip


@dataclass
class AppHour:
    """The counts of one app in one hour, from every source."""

    app_id: str
    generated: int = 0
    sent: int = 0
    unsent: int = 0    # generated, then given up on because the site was stopping (not a loss)
    external: int = 0  # taken by the collector from clients other than the simulated users
    accepted: int = 0
    rejected: int = 0
    dead_lettered: int = 0
    archived: int = 0
    aggregated: int = 0
    rejected_by_reason: Counter = field(default_factory=Counter)
    dead_lettered_by_reason: Counter = field(default_factory=Counter)

    def problems(self) -> list[str]:
        """Return one sentence per disagreement (empty when the hour reconciles)."""
        app, out = self.app_id, []
        if self.generated != self.sent + self.unsent:
            left = f" and left {self.unsent} unsent at a stop" if self.unsent else ""
            out.append(f"{app}: the simulators generated {self.generated} events but sent {self.sent}{left} "
                       f"({self.generated - self.sent - self.unsent:+d} never reached the collector)")
        taken = self.sent + self.external
        if taken != self.accepted + self.rejected:
            out.append(f"{app}: the collector took {taken} events ({self.sent} from the simulators, "
                       f"{self.external} from other clients) but its producer had "
                       f"{self.accepted + self.rejected} acknowledged ({self.accepted} accepted + "
                       f"{self.rejected} rejected)")
        if self.rejected_by_reason != self.dead_lettered_by_reason:
            out.append(f"{app}: the ledger rejected {self.rejected} events "
                       f"({_reasons(self.rejected_by_reason)}) but the dead-letter topic holds "
                       f"{self.dead_lettered} ({_reasons(self.dead_lettered_by_reason)})")
        if self.accepted != self.archived:
            out.append(f"{app}: the collector accepted {self.accepted} events but raw_events holds "
                       f"{self.archived} ({self.archived - self.accepted:+d})")
        if self.archived != self.aggregated:
            out.append(f"{app}: raw_events holds {self.archived} events but hourly_pages counts "
                       f"{self.aggregated} ({self.aggregated - self.archived:+d})")
        return out


def _reasons(counter: Counter) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"


# --- the queries (HiveServer2) --------------------------------------------------------------------

def _hour(dt: str, hr: int) -> str:
    return f"dt = '{dt}' AND hr = {hr}"


def ledger_sql(database: str, dt: str, hr: int) -> str:
    """Per app: generated, sent, accepted, rejected, unsent, external, summed over simulator runs."""
    return (f"SELECT app, SUM(generated), SUM(sent), SUM(accepted), SUM(rejected), SUM(unsent), "
            f"SUM(external) FROM {database}.sim_ledger WHERE {_hour(dt, hr)} GROUP BY app")


def ledger_reasons_sql(database: str, dt: str, hr: int) -> str:
    """Per app and reason: rejected, summed over simulator runs."""
    return (f"SELECT app, reason, SUM(n) FROM {database}.sim_ledger "
            f"LATERAL VIEW explode(rejected_by_reason) r AS reason, n WHERE {_hour(dt, hr)} "
            f"GROUP BY app, reason")


def archived_sql(database: str, dt: str, hr: int) -> str:
    """Per app: rows of raw_events in the hour."""
    return f"SELECT app_id, COUNT(*) FROM {database}.raw_events WHERE {_hour(dt, hr)} GROUP BY app_id"


def aggregated_sql(database: str, dt: str, hr: int) -> str:
    """Per app: events counted by the hourly aggregates."""
    return f"SELECT app_id, SUM(events) FROM {database}.hourly_pages WHERE {_hour(dt, hr)} GROUP BY app_id"


def hour_counts(query: Callable[[str], list[tuple]], database: str, hour: datetime,
                dead_letters: Counter) -> list[AppHour]:
    """Collect one hour's counts per app: query runs SQL (HiveServer2), dead_letters is (app, reason) → n."""
    dt, hr = f"{hour:%Y-%m-%d}", hour.hour
    apps: dict[str, AppHour] = {}

    def app(name: str) -> AppHour:
        return apps.setdefault(name, AppHour(name))

    for name, *counts in query(ledger_sql(database, dt, hr)):
        row = app(name)
        # Files written before unsent and external existed read them as NULL: 0.
        (row.generated, row.sent, row.accepted, row.rejected, row.unsent,
         row.external) = (int(v or 0) for v in counts)
    for name, reason, n in query(ledger_reasons_sql(database, dt, hr)):
        app(name).rejected_by_reason[reason] += int(n)
    for name, n in query(archived_sql(database, dt, hr)):
        app(name).archived = int(n)
    for name, n in query(aggregated_sql(database, dt, hr)):
        app(name).aggregated = int(n or 0)
    for (name, reason), n in dead_letters.items():
        row = app(name)
        if not reason.startswith(REQUEST_REASON):  # a refused request is no event: only its reason counts
            row.dead_lettered += n
        row.dead_lettered_by_reason[reason] += n
    return [apps[name] for name in sorted(apps)]


# --- the dead-letter topic ---------------------------------------------------------------------------

def dead_letter_key(value: bytes) -> tuple[str, str, tuple[str, int]]:
    """Return (app, reason, (dt, hr)) of one dead-letter record, counted as the ledger counts it."""
    record = orjson.loads(value)
    event = record.get("event")
    event_time = event.get("event_time") if isinstance(event, dict) else None
    received = parse_time(record["received_time"])
    return record["app_id"], record["reason"], hour_key(event_time, received)


def dead_letters(consumer, topic: str, hour: datetime, timeout_s: float = 120.0) -> Counter:
    """Count the dead-letter records of one hour, per (app, reason), reading each partition to its end.

    consumer: a confluent_kafka Consumer created with ``enable.partition.eof`` (not subscribed).
    The scan starts at the first record produced DLQ_LOOKBACK before the hour (offsets_for_times)
    and ends at each partition's end-of-partition event, so records produced while it reads are
    counted if they arrived before the scan reached the end.
    """
    from confluent_kafka import KafkaError, TopicPartition

    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    if metadata.error is not None:
        raise RuntimeError(f"cannot read the dead-letter topic {topic}: {metadata.error}")
    since_ms = int((hour - DLQ_LOOKBACK).timestamp() * 1000)
    starts = consumer.offsets_for_times([TopicPartition(topic, p, since_ms) for p in metadata.partitions],
                                        timeout=10)
    # offset -1: nothing produced since; OFFSET_END still yields the end-of-partition event.
    consumer.assign([TopicPartition(topic, tp.partition, tp.offset if tp.offset >= 0 else -1)
                     for tp in starts])
    todo = set(metadata.partitions)
    counts: Counter = Counter()
    wanted = (f"{hour:%Y-%m-%d}", hour.hour)
    deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
    while todo:
        if datetime.now(UTC) > deadline:
            raise TimeoutError(f"reading {topic} took over {timeout_s:.0f}s; partitions left: {sorted(todo)}")
        for msg in consumer.consume(1000, timeout=1.0):
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    todo.discard(msg.partition())
                    continue
                raise RuntimeError(f"reading {topic}: {msg.error()}")
            try:
                app, reason, key = dead_letter_key(msg.value())
            except (ValueError, KeyError, TypeError, AttributeError):
                # Not a collector's record: counted, under the hour the broker stamped, so it shows.
                app, reason = "(unreadable)", "not a dead-letter record"
                key = hour_key(None, datetime.fromtimestamp(msg.timestamp()[1] / 1000, UTC))
            if key == wanted:
                counts[(app, reason)] += 1
    consumer.unassign()
    return counts


# --- the result table -----------------------------------------------------------------------------

def result_rows(apps: Iterable[AppHour], checked_at: datetime) -> list[dict]:
    """Return the reconciliation table's rows of one hour (a placeholder row when the hour has none)."""
    rows = []
    for a in apps:
        problems = a.problems()
        rows.append({"app_id": a.app_id, **{c: getattr(a, c) for c in COUNTS},
                     "status": "mismatch" if problems else "ok", "message": "; ".join(problems),
                     "checked_at": checked_at})
    return rows or [{"app_id": "*", **dict.fromkeys(COUNTS, 0), "status": "ok",
                     "message": "no events in this hour", "checked_at": checked_at}]


def _literal(value) -> str:
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, int):
        return str(value)
    return string_literal(value)


def insert_sql(database: str, hour: datetime, rows: list[dict]) -> str:
    """INSERT OVERWRITE of the hour's partition: a rerun replaces the hour's results."""
    values = ",\n  ".join("(" + ", ".join(_literal(r[name]) for name, _ in COLUMNS) + ")" for r in rows)
    return (f"INSERT OVERWRITE TABLE {database}.reconciliation "
            f"PARTITION (dt = '{hour:%Y-%m-%d}', hr = {hour.hour})\nVALUES\n  {values}")
