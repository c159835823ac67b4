"""The Airflow-side helpers of plugins/clickstream_airflow that need no service."""

from __future__ import annotations

from pathlib import Path

import pytest

from clickstream_airflow.checks import read_checks
from clickstream_airflow.sensors import _unreachable

CHECKS = Path(__file__).resolve().parents[2] / "include" / "hql" / "checks"


def test_the_checks_files_name_their_table_partition_and_checks():
    hourly = read_checks(CHECKS / "hourly.sql")
    assert hourly.table == "{{ clickstream_db }}.hourly_pages"
    assert hourly.partition_clause.startswith("dt = ") and "hr = " in hourly.partition_clause
    assert list(hourly.checks) == ["events_reconcile_with_raw", "no_null_keys",
                                   "page_views_and_errors_fit_events", "section_sums_fit_page_sums"]
    assert hourly.checks["no_null_keys"] == "COUNT(*) = COUNT(app_id) AND COUNT(*) = COUNT(page)"
    daily = read_checks(CHECKS / "daily.sql")
    assert len(daily.checks) == 7 and "raw_events" in daily.checks["events_reconcile_with_raw"]


def test_a_checks_file_without_its_headers_or_checks_is_refused(tmp_path):
    path = tmp_path / "bad.sql"
    path.write_text("-- table: t\n-- check: empty\n")
    with pytest.raises(ValueError, match="partition"):
        read_checks(path)
    path.write_text("-- table: t\n-- partition: dt = 'x'\nCOUNT(*) > 0\n")
    with pytest.raises(ValueError, match="before the first"):
        read_checks(path)


def test_only_an_unanswered_connection_counts_as_hiveserver2_not_there_yet():
    class TTransportException(Exception):  # noqa: N818 - Thrift's name, matched by name
        pass

    refused = RuntimeError("could not connect")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert _unreachable(refused)
    assert _unreachable(TTransportException("TSocket read 0 bytes"))
    assert not _unreachable(RuntimeError("[TABLE_OR_VIEW_NOT_FOUND] stream_progress"))


@pytest.mark.parametrize(("state", "mailed"), [("running", True), ("queued", True), ("failed", False),
                                               ("success", False)])
def test_a_late_run_email_goes_only_for_an_unfinished_run(monkeypatch, state, mailed):
    """A run that failed before its deadline alerted then: its missed deadline sends no second email."""
    import asyncio

    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    from clickstream_airflow.late_run import LateRunEmail

    sent = []

    async def fake_send(self, context):
        sent.append(context["dag_run"]["dag_run_id"])

    monkeypatch.setattr(SmtpNotifier, "async_notify", fake_send)
    # The context the triggerer builds for a missed deadline (airflow.models.deadline.handle_miss).
    context = {"dag_run": {"dag_run_id": "backfill__2026-12-06T14:00:00+00:00", "state": state},
               "deadline": {"deadline_time": "2026-12-06T16:16:00+00:00"}}
    asyncio.run(LateRunEmail(to="a@b", from_email="c@d", subject="late").async_notify(context))
    assert sent == (["backfill__2026-12-06T14:00:00+00:00"] if mailed else [])


def test_the_provider_s_private_api_the_bounded_operator_relies_on_is_still_there():
    """BoundedSparkSubmitOperator (plugins/clickstream_airflow/spark.py) wraps three private members of the
    Spark provider, for want of a public way to bound how long YARN may keep an application queued: the
    operator's ``_get_hook``, the hook's ``_query_yarn_application_status`` (which the hook's tracking loop
    polls) and ``_kill_yarn_application``. Upstream: a public, non-blocking YARN tracking is
    https://github.com/apache/airflow/issues/24171 (and #67168, reconnecting on retry). This fails when a
    provider upgrade renames or reshapes any of them, instead of the operator silently losing its bound."""
    import inspect

    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    assert inspect.signature(SparkSubmitOperator._get_hook).parameters.keys() == {"self"}
    query = inspect.signature(SparkSubmitHook._query_yarn_application_status)
    assert list(query.parameters) == ["self", "application_id"]
    assert query.return_annotation in (tuple[str, str, str], "tuple[str, str, str]")
    assert list(inspect.signature(SparkSubmitHook._kill_yarn_application).parameters) == ["self",
                                                                                          "application_id"]
    # The tracking loop asks through the instance attribute, which the operator replaces.
    tracking = inspect.getsource(SparkSubmitHook._start_yarn_application_status_tracking)
    assert "self._query_yarn_application_status(application_id)" in tracking
