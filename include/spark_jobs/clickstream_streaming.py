"""The long-running streaming application: Kafka → validated events → archive, live metrics, paths, alerts.

Usage:
    spark-submit include/spark_jobs/clickstream_streaming.py \\
        [--trigger-seconds 1] [--ingest-trigger-seconds 5] [--slow-trigger-seconds 10] \\
        [--max-offsets-per-trigger N] [--mode continuous|available-now] [--[no-]fail-on-data-loss]

Queries (docs/streaming.md, clickstream/streaming/app.py):
- ``ingest`` reads the events topic once: it validates every record, drops
  duplicate event ids within a 10-minute watermark on the broker timestamp,
  and per micro-batch writes, exactly once, valid events to ``raw_events``
  (dt/hr of event time), rejected records to ``bad_events`` (dt of arrival),
  and the batch's valid events as one file to the internal feed
  ``_feed/events``;
- ``live_metrics`` reads the topic itself (one hop: its freshness does not
  wait for ingest's batch), validates the same way, counts each event id once
  within its watermark, and writes 1-minute metrics per breakdown, plus alerts
  into ``live_alerts`` and the alerts topic;
- ``live_active_users`` and ``live_paths`` stream that feed — the archived,
  de-duplicated events — into 5-minute sliding active users and
  prev → current → next navigation triples;
- the progress of every query goes to ``stream_progress``.

Every table is registered in Hive through HiveServer2 as it gets new
partitions. Configuration comes from the CLICKSTREAM_* environment
(clickstream/settings.py). Kafka is read with Spark's own connector
(``format("kafka")``, its jars passed with ``--jars``) in both runtimes. A
query whose offsets are no longer in the topic (retention deleted them, or
the broker's log was reset) stops it before it starts, naming the partitions
and why, rather than skip them; an operator who accepts the loss restarts it
once with ``--no-fail-on-data-loss``.

The application records where it runs and stops between micro-batches, exiting 0, when a stop is
requested (``make stop`` does; clickstream/streaming/lifecycle.py).
"""

from __future__ import annotations

import argparse
import logging

from clickstream.streaming.app import run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trigger-seconds", type=float, default=1.0,
                        help="trigger of the live metrics (freshness)")
    parser.add_argument("--ingest-trigger-seconds", type=float, default=5.0,
                        help="trigger of ingest (raw and bad events, the feed)")
    parser.add_argument("--slow-trigger-seconds", type=float, default=10.0,
                        help="trigger of active users and paths, which need not be as fresh")
    parser.add_argument("--max-offsets-per-trigger", type=int, default=None)
    parser.add_argument("--mode", choices=["continuous", "available-now"], default="continuous",
                        help="available-now: process what the topic holds now, then stop")
    parser.add_argument("--starting-offsets", default="earliest")
    parser.add_argument("--progress-flush-seconds", type=float, default=30.0)
    parser.add_argument("--fail-on-data-loss", action=argparse.BooleanOptionalAction, default=True,
                        help="fail when offsets the application expected are gone from the topic (default); "
                             "--no-fail-on-data-loss carries on from the earliest offset still there")
    parser.add_argument("--no-live", action="store_true",
                        help="run the ingest query only (raw and bad events), e.g. as a benchmark baseline")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the streaming application until it is stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run(parse_args(argv))


if __name__ == "__main__":
    main()
