"""Navigation paths: prev → current → next page triples per session, from Spark's stateful API.

Page views are grouped by (app_id, session_id) and handed to a
``StatefulProcessor`` (state API v2, ``transformWithState``) that remembers the
session's last two pages. When the next page view arrives it emits the triple
for the page in the middle, with its dwell time (time to the next view); when
no page view follows within the session timeout of event time — an
event-time timer that fires once the watermark passes it — it emits the
triple with ``next_page = "(exit)"`` and forgets the session. A session's
first page has ``prev_page = "(entrance)"``.

Within a micro-batch a session's views are ordered by event time. Page views
older than the watermark are dropped by Spark before they reach the
processor (the late-data policy of docs/streaming.md); the daily job's path
analysis over ``raw_events`` sees them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F
from pyspark.sql.streaming import StatefulProcessor, StatefulProcessorHandle
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from clickstream.streaming.metrics import WATERMARK

SESSION_TIMEOUT = timedelta(minutes=30)
# transformWithState keeps its state in RocksDB only.
ROCKSDB_PROVIDER = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
ENTRANCE, EXIT = "(entrance)", "(exit)"

PATHS_SCHEMA = StructType([
    StructField("app_id", StringType()), StructField("session_id", StringType()),
    StructField("user_id", StringType()), StructField("prev_page", StringType()),
    StructField("page", StringType()), StructField("next_page", StringType()),
    StructField("page_ts", TimestampType()), StructField("next_ts", TimestampType()),
    StructField("dwell_ms", LongType()), StructField("ended_by", StringType()),
    StructField("dt", StringType()),
])  # fmt: skip

_VISIT = StructType([
    StructField("user_id", StringType()), StructField("prev_page", StringType()),
    StructField("page", StringType()), StructField("page_ms", LongType()),
])  # fmt: skip
_TIMEOUT_MS = int(SESSION_TIMEOUT.total_seconds() * 1000)


def _ms(ts: datetime) -> int:
    # Python workers see naive local-time timestamps; timestamp() reads them as local time.
    return round(ts.timestamp() * 1000)


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class NavigationPaths(StatefulProcessor):
    """Emits a session's page triples as the next page arrives or the session times out."""

    def init(self, handle: StatefulProcessorHandle) -> None:
        """Declare the per-session state: the page being viewed and the one before it."""
        self.handle = handle
        self.visit = handle.getValueState("visit", _VISIT)

    def _triple(self, key: tuple, visit: tuple, next_page: str, next_ms: int | None,
                ended_by: str) -> Row:
        app_id, session_id = key
        user_id, prev_page, page, page_ms = visit
        return Row(app_id=app_id, session_id=session_id, user_id=user_id, prev_page=prev_page, page=page,
                   next_page=next_page, page_ts=_utc(page_ms),
                   next_ts=_utc(next_ms) if next_ms is not None else None,
                   dwell_ms=next_ms - page_ms if next_ms is not None else None,
                   ended_by=ended_by, dt=_utc(page_ms).strftime("%Y-%m-%d"))

    def handleInputRows(self, key, rows, timerValues) -> Iterator[Row]:
        """Advance the session through its new page views, emitting a triple for each page left."""
        visit = tuple(self.visit.get()) if self.visit.exists() else None
        if visit:
            self.handle.deleteTimer(visit[3] + _TIMEOUT_MS)
        for row in sorted(rows, key=lambda r: r.event_ts):
            at_ms = _ms(row.event_ts)
            if visit and at_ms - visit[3] > _TIMEOUT_MS:
                yield self._triple(key, visit, EXIT, None, "timeout")
                visit = None
            if visit:
                yield self._triple(key, visit, row.page, at_ms, "next")
                visit = (row.user_id, visit[2], row.page, at_ms)
            else:
                visit = (row.user_id, ENTRANCE, row.page, at_ms)
        self.visit.update(visit)
        self.handle.registerTimer(visit[3] + _TIMEOUT_MS)

    def handleExpiredTimer(self, key, timerValues, expiredTimerInfo) -> Iterator[Row]:
        """End the session: its last page led nowhere within the timeout."""
        if self.visit.exists():
            yield self._triple(key, tuple(self.visit.get()), EXIT, None, "timeout")
        self.visit.clear()

    def close(self) -> None:
        """Nothing to release."""


def transform_paths(events: DataFrame, watermark: str = WATERMARK) -> DataFrame:
    """Return the navigation triples of the page views in an event stream."""
    return (
        events.filter(F.col("event_type") == "page_view")
        .select("app_id", "session_id", "user_id", "page", "event_ts")
        .withWatermark("event_ts", watermark)
        .groupBy("app_id", "session_id")
        .transformWithState(NavigationPaths(), PATHS_SCHEMA, "Append", "EventTime")
    )
