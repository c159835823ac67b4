"""Small inline archived events for transform tests, and a harness that streams them in batches."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from clickstream.streaming.events import archived_struct

_ids = itertools.count()

ARCHIVED = archived_struct()


def at(hms: str, day: str = "2026-11-20") -> datetime:
    """Return a UTC timestamp on the test day."""
    return datetime.fromisoformat(f"{day}T{hms}").replace(tzinfo=UTC)


def ev(ts: str, user: str, page: str, event_type: str = "page_view", **fields) -> dict:
    """Return one archived event (typed, as in raw_events) with sensible defaults."""
    when = at(ts)
    row = {f.name: None for f in ARCHIVED.fields}
    row.update(
        event_id=f"00000000-0000-4000-8000-{next(_ids):012d}", schema_version=1, app_id="shop",
        event_type=event_type, event_time=when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        sent_time=when.strftime("%Y-%m-%dT%H:%M:%S.000Z"), user_id=user, session_id=f"s_{user}",
        visit_number=1, page=page, country="DE", city="Berlin", received_time=None, ip="10.0.0.0",
        device_type="desktop", browser="Firefox", os="Linux", is_bot=False, event_ts=when,
        received_ts=when, dt=when.strftime("%Y-%m-%d"), hr=when.hour,
    )
    if event_type == "page_view":
        row.update(response_time_ms=100, http_status=200)
    row.update(fields)
    return row


def frame(spark: SparkSession, rows: list[dict]) -> DataFrame:
    """Return the rows as a DataFrame with raw_events' schema."""
    return spark.createDataFrame([tuple(r[f.name] for f in ARCHIVED.fields) for r in rows], ARCHIVED)


def parts(spark: SparkSession, events: list[dict]) -> list[dict]:
    """Return a batch's live metric partials as the application collects them for the recent windows."""
    from clickstream.streaming.metrics import metric_parts

    return [row.asDict() for row in metric_parts(frame(spark, events)).collect()]


class FeedHarness:
    """Streams batches of events through a transform, as the live queries read the feed."""

    def __init__(self, spark: SparkSession, root: Path, transform, output_mode: str = "update"):
        self.spark, self.feed, self.batches = spark, root / "feed", 0
        self.feed.mkdir(parents=True)
        self.out: list[dict] = []

        def collect(df: DataFrame, batch_id: int) -> None:
            self.out.extend({**r.asDict(), "_batch": batch_id} for r in df.collect())

        stream = spark.readStream.schema(ARCHIVED).parquet(str(self.feed))
        self.query = (transform(stream).writeStream.outputMode(output_mode).foreachBatch(collect)
                      .option("checkpointLocation", str(root / "checkpoint")).start())

    def send(self, rows: list[dict]) -> None:
        """Add one file of events to the feed and wait until the query has processed it."""
        staging = self.feed.parent / f"staging-{self.batches}"
        frame(self.spark, rows).coalesce(1).write.parquet(str(staging))
        next(staging.glob("part-*.parquet")).rename(self.feed / f"b{self.batches:04d}.parquet")
        self.batches += 1
        self.query.processAllAvailable()

    def latest(self, *key: str) -> dict[tuple, dict]:
        """Return the last emitted version of each row, by key columns."""
        rows: dict[tuple, dict] = {}
        for r in self.out:
            rows[tuple(r[k] for k in key)] = r
        return rows

    def stop(self) -> None:
        """Stop the query."""
        self.query.stop()
