"""Is the streaming application making progress? Judged from the stream_progress table.

A healthy application reports every query's progress at least every few
seconds while data flows, and an idle event about every 10 s when there is
none; the recorder writes them every 30 s. A query is stalled when:

- it has reported nothing for ``stall_after`` (the application is down or hung), or
- (ingest) the log end is ahead of it — ``offsets_behind`` > 0 — yet it has
  read nothing for ``stall_after``.

An application that started less than ``stall_after`` ago (``started``, from the record it writes at
its start) is starting, not stalled: its queries have until then to report.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from clickstream.streaming.monitor import QUERIES

STALL_AFTER = timedelta(minutes=5)


def progress_sql(database: str, since: datetime) -> str:
    """Return the query for the progress rows a health check needs (partition-pruned by dt).

    Each row: query, ts, input rows, records behind the log end.
    """
    days = sorted({since.strftime("%Y-%m-%d"), (since + timedelta(days=1)).strftime("%Y-%m-%d")})
    return (f"SELECT query, cast(ts AS STRING), input_rows, offsets_behind FROM {database}.stream_progress "
            f"WHERE dt IN ({', '.join(repr(d) for d in days)}) "
            f"AND ts >= '{since:%Y-%m-%d %H:%M:%S}' ORDER BY 2")


def stalls(rows: list[tuple], now: datetime, stall_after: timedelta = STALL_AFTER,
           queries: tuple[str, ...] = QUERIES, started: datetime | None = None) -> list[str]:
    """Return what is wrong, one sentence per stalled query; empty when every query progresses."""
    problems = []
    starting = started is not None and now - _naive(started) < stall_after
    for query in queries:
        mine = [(_naive(ts), n or 0, behind) for q, ts, n, behind in rows if q == query]
        if starting and all(ts < _naive(started) for ts, _, _ in mine):
            continue  # a new application whose query has not reported yet
        if not mine:
            problems.append(f"{query}: no progress reported since {now - 2 * stall_after:%H:%M} UTC")
            continue
        last = max(ts for ts, _, _ in mine)
        if now - last > stall_after:
            problems.append(f"{query}: last progress at {last:%H:%M:%S} UTC, "
                            f"{(now - last).total_seconds() / 60:.0f} minutes ago")
            continue
        recent = [(ts, n, behind) for ts, n, behind in mine if ts >= now - stall_after]
        behind = next((b for ts, _, b in sorted(recent, reverse=True) if b is not None), 0)
        covers_window = min(ts for ts, _, _ in mine) <= now - stall_after + timedelta(seconds=60)
        if behind and covers_window and sum(n for _, n, _ in recent) == 0:
            problems.append(f"{query}: {behind} records behind the log end but read none in the last "
                            f"{stall_after.total_seconds() / 60:.0f} minutes")
    return problems


def _naive(ts) -> datetime:
    value = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
    return value.replace(tzinfo=None)
