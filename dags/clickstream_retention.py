"""
### clickstream_retention

Retention and privacy of the warehouse (`clickstream/retention.py`).

Every night at 02:30 UTC, `purge_raw` drops the partitions of `raw_events` and
`bad_events` older than `raw_retention_days` days (param; default
`CLICKSTREAM_RAW_RETENTION_DAYS`, 30) and deletes their files. The hourly and
daily aggregates, the reports and the live tables are kept.

**Forget a user** (a data-subject request): trigger with
`{"forget_user_id": "u_0123456789abcdef"}`. `forget_user` rewrites every file of
`raw_events`, `sessions` and `bad_events` that holds the user's rows, without
them, and reports how many rows it removed from each table. Run it again after
the next daily run if the user was active today: today's raw events are still
being written. IPs are truncated by the collector before anything is stored
(IPv4 to its /24, IPv6 to its /48), so no table holds a full one.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag

from clickstream.settings import get_settings
from clickstream_airflow.notifiers import dag_defaults, run_deadline
from clickstream_airflow.operators import ForgetUserOperator, PurgeRawOperator

SETTINGS = get_settings()


@dag(
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["clickstream", "lifecycle", "privacy"],
    deadline=run_deadline(pendulum.duration(hours=2)),
    default_args=dag_defaults(pendulum.duration(minutes=5)),
    params={
        "raw_retention_days": Param(SETTINGS.raw_retention_days, type="integer", minimum=1,
                                    description="days of raw_events and bad_events to keep"),
        "forget_user_id": Param(None, type=["null", "string"], pattern="^u_[0-9a-f]{16}$",
                                description="a user_id to remove from the raw and sessions tables"),
    },
    doc_md=__doc__,
)
def clickstream_retention():
    purge_raw = PurgeRawOperator(task_id="purge_raw", retention_days="{{ params.raw_retention_days }}")
    forget_user = ForgetUserOperator(task_id="forget_user", user_id="{{ params.forget_user_id }}")

    purge_raw >> forget_user


clickstream_retention()
