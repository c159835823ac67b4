"""The hourly batch job: per-page and per-section aggregates of each hour of a data interval.

Usage:
    spark-submit include/spark_jobs/clickstream_hourly.py --start 2026-11-20T10:00:00+00:00 \\
        --end 2026-11-20T11:00:00+00:00

For every whole UTC hour in [start, end) it reads that hour of
``raw_events`` (partitioned by event time) and overwrites exactly that hour's
partition of ``hourly_pages`` and ``hourly_sections`` with one sorted Parquet
file; an hour without events gets an empty partition, so a rerun or backfill
always leaves the same content. Airflow registers the partitions in Hive
afterwards (include/hql/add_hourly_partitions.hql). Configuration comes from
the CLICKSTREAM_* environment (clickstream/settings.py).
"""

from __future__ import annotations

import argparse
import logging
from datetime import datetime

from clickstream.batch.io import batch_session
from clickstream.batch.jobs import run_hours
from clickstream.settings import get_settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", type=datetime.fromisoformat, required=True, help="interval start (ISO)")
    parser.add_argument("--end", type=datetime.fromisoformat, required=True, help="interval end (ISO)")
    args = parser.parse_args(argv)
    if args.start.tzinfo is None or args.end.tzinfo is None:
        parser.error("--start and --end need a UTC offset")
    if not args.start < args.end:
        parser.error("--start must be before --end")
    return args


def main(argv: list[str] | None = None) -> None:
    """Compute and write the hourly tables of every hour of the interval."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    spark = batch_session("clickstream-hourly")
    try:
        run_hours(spark, settings, args.start, args.end)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
