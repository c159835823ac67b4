"""The daily batch job: sessions, funnels, paths and the daily breakdowns of one UTC day.

Usage:
    spark-submit include/spark_jobs/clickstream_daily.py --day 2026-11-20 [--days 1] \\
        [--spill-hours 1] [--funnel-window-minutes 60] [--top-paths 10] [--parallel-tables 3]

It reads ``raw_events`` of the day plus ``--spill-hours`` on either side, so
a session that crosses midnight is seen whole and counted on the day it
starts, and overwrites exactly the day's partition (dt) of every daily
table, each as one sorted Parquet file:

``sessions``, ``daily_pages``, ``daily_sections``, ``daily_paths``,
``daily_funnels``, ``daily_geo``, ``daily_channels``, ``daily_devices``,
``daily_hours`` and ``daily_summary`` (columns in include/hql/create_tables.hql).

``--days N`` computes the day and the N-1 days after it, one after another in one application:
tools that build a span at once use it (embedded/build.py). The daily DAG runs one day per run.

Airflow registers the partitions in Hive afterwards and runs the reporting
HQL on them. Configuration comes from the CLICKSTREAM_* environment.
"""

from __future__ import annotations

import argparse
import logging
from datetime import date, timedelta

from clickstream.batch.io import batch_session
from clickstream.batch.jobs import run_day
from clickstream.settings import get_settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--day", type=date.fromisoformat, required=True, help="UTC day (YYYY-MM-DD)")
    parser.add_argument("--days", type=int, default=1, metavar="N",
                        help="compute N days from --day on, one after another")
    parser.add_argument("--spill-hours", type=int, default=1, choices=range(0, 13), metavar="0..12",
                        help="hours read either side of the day for sessions crossing midnight")
    parser.add_argument("--funnel-window-minutes", type=int, default=60)
    parser.add_argument("--top-paths", type=int, default=10)
    parser.add_argument("--parallel-tables", type=int, default=3, metavar="N",
                        help="tables written at once, each by its own Spark job")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Compute and write the daily tables of a day (or of --days days)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spark = batch_session("clickstream-daily")
    try:
        for n in range(args.days):
            run_day(spark, get_settings(), args.day + timedelta(days=n), spill_hours=args.spill_hours,
                    funnel_window_s=args.funnel_window_minutes * 60, top_paths=args.top_paths,
                    parallel_tables=args.parallel_tables)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
