"""Sensors of the platform's batch DAGs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, timedelta

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from clickstream_airflow.schedule import STREAM_GRACE, archived_past, caught_up_sql


class StreamArchivedSensor(BaseSensorOperator):
    """Waits until the streaming application has archived every event of the run's data interval.

    Done when the newest ``ingest`` row of ``stream_progress`` written after the interval's end,
    plus ``margin_hours`` (the hours after the interval the job also reads) and the stream's grace
    period, says the application was not behind the topic's end (read through HiveServer2). The
    reason, done or not, is logged and pushed as the XCom value.
    """

    template_fields: Sequence[str] = ("margin_hours",)

    def __init__(self, *, database: str, margin_hours: int | str = 0,
                 hiveserver2_conn_id: str = "hiveserver2_default", **kwargs):
        super().__init__(**kwargs)
        self.database = database
        self.margin_hours = margin_hours
        self.hiveserver2_conn_id = hiveserver2_conn_id

    def poke(self, context) -> PokeReturnValue:
        from airflow.providers.apache.hive.hooks.hive import HiveServer2Hook

        end = context["data_interval_end"] + timedelta(hours=int(self.margin_hours)) + STREAM_GRACE
        after = end.astimezone(UTC).replace(tzinfo=None)
        try:
            rows = HiveServer2Hook(hiveserver2_conn_id=self.hiveserver2_conn_id).get_records(
                caught_up_sql(self.database, after))
        except Exception as exc:
            if not _unreachable(exc):
                raise
            # HiveServer2 starting (it starts last in the embedded stack) or restarting: not yet.
            why = f"HiveServer2 does not answer ({type(exc).__name__}: {exc}); poking again later"
            self.log.warning(why)
            return PokeReturnValue(is_done=False, xcom_value=why)
        done, why = archived_past(rows, after)
        self.log.info(why)
        return PokeReturnValue(is_done=done, xcom_value=why)


def _unreachable(exc: BaseException) -> bool:
    """Whether an error means the server did not answer (refused, reset), not that the query failed."""
    while exc is not None:
        if isinstance(exc, OSError) or type(exc).__name__ == "TTransportException":
            return True
        exc = exc.__cause__ or exc.__context__
    return False
