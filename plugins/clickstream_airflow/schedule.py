"""When the batch DAGs may run: the platform's batch epoch, and whether the stream has archived an interval.

The wait itself is :class:`clickstream_airflow.sensors.StreamArchivedSensor`.

The raw archive of an interval is complete once the streaming application has
read everything the topic held after the interval ended plus a grace period
(the live watermark's delay and the collector's batching): its newest
``ingest`` progress row written after that time says it is not behind the log
end. For past days (backfills) that is true as soon as the stream has caught
up with what the backfill produced.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pendulum

from clickstream.settings import Settings

STREAM_GRACE = timedelta(minutes=3)
# Without a batch epoch the DAGs still run on schedule and by backfill, without catching up.
NO_EPOCH = pendulum.datetime(2026, 1, 1, tz="UTC")


def batch_epoch(settings: Settings) -> tuple[pendulum.DateTime, bool]:
    """Return the batch DAGs' start date and whether they catch up from it."""
    if not settings.batch_start:
        return NO_EPOCH, False
    return pendulum.parse(settings.batch_start).in_timezone("UTC"), True


def caught_up_sql(database: str, after: datetime) -> str:
    """Return the query for the newest ingest progress row written after a time (partition-pruned)."""
    return (f"SELECT cast(ts AS STRING), offsets_behind FROM {database}.stream_progress "
            f"WHERE query = 'ingest' AND dt >= '{after:%Y-%m-%d}' AND ts >= '{after:%Y-%m-%d %H:%M:%S}' "
            f"ORDER BY ts DESC LIMIT 1")


def archived_past(rows: list[tuple], after: datetime) -> tuple[bool, str]:
    """Return whether the stream has archived everything up to a time, and why (for the task log)."""
    if not rows:
        return False, f"the stream has reported no progress since {after:%Y-%m-%d %H:%M} UTC"
    ts, behind = rows[0]
    if behind:
        return False, f"the stream was {behind} records behind the log end at {ts} UTC"
    return True, f"the stream had read the whole topic at {ts} UTC"


def table_asset(settings: Settings, table: str):
    """Return the Airflow Asset of one warehouse table: named by its Hive name, at its location.

    The name carries the database, so a deployment (or a test) with its own database and
    warehouse has its own assets rather than clashing with another's name at another URI.
    """
    from airflow.sdk import Asset

    return Asset(name=f"{settings.hive_database}.{table}", uri=settings.table_path(table))


def table_assets(settings: Settings, tables) -> list:
    """Return the Assets of these warehouse tables (a task's outlets)."""
    return [table_asset(settings, table) for table in tables]
