"""The long-running streaming application: Kafka → validated events → archive, live metrics, paths, alerts.

Usage:
    spark-submit include/spark_jobs/clickstream_streaming.py \\
        [--trigger-seconds 1] [--min-batch-events 250] [--max-batch-delay-seconds 5] \\
        [--max-offsets-per-trigger N] [--mode continuous|available-now] [--[no-]fail-on-data-loss]

One query reads the events topic with Spark's own Kafka connector, parses and validates each record
once, and writes from each micro-batch the raw archive and bad events (exactly once), the live metrics,
active users, navigation paths and alerts, and its progress (clickstream/streaming/app.py;
docs/streaming.md the whole). Offsets no longer in the topic stop the application before it starts,
naming the partitions; an operator who accepts the loss restarts it once with ``--no-fail-on-data-loss``.

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
                        help="how often a micro-batch starts (the live tables' freshness)")
    parser.add_argument("--min-batch-events", type=int, default=250,
                        help="start a micro-batch once this many records wait (1: at every trigger) ...")
    parser.add_argument("--max-batch-delay-seconds", type=int, default=5,
                        help="... or once this long has passed since the last one")
    parser.add_argument("--max-offsets-per-trigger", type=int, default=None)
    parser.add_argument("--mode", choices=["continuous", "available-now"], default="continuous",
                        help="available-now: process what the topic holds now, then stop")
    parser.add_argument("--starting-offsets", default="earliest")
    parser.add_argument("--progress-flush-seconds", type=float, default=30.0)
    parser.add_argument("--fail-on-data-loss", action=argparse.BooleanOptionalAction, default=True,
                        help="fail when offsets the application expected are gone from the topic (default); "
                             "--no-fail-on-data-loss carries on from the earliest offset still there")
    parser.add_argument("--no-live", action="store_true",
                        help="write raw and bad events only (no live tables), e.g. as a benchmark baseline")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the streaming application until it is stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run(parse_args(argv))


if __name__ == "__main__":
    main()
