"""Every DAG imports cleanly and carries the metadata operators rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from clickstream.settings import REPO_ROOT

DAG_FILES = sorted(p for p in (REPO_ROOT / "dags").glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


def test_dag_folder_has_dags():
    assert DAG_FILES, "dags/ holds no DAG file"


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_every_dag_serializes(dagbag):
    """The scheduler runs serialized DAGs: every argument must survive the serializer."""
    from airflow.serialization.serialized_objects import DagSerialization

    for dag_id, dag in dagbag.dags.items():
        assert DagSerialization.to_dict(dag)["dag"]["dag_id"] == dag_id


def test_one_dag_per_file_named_after_it(dagbag):
    by_file = {Path(d.fileloc).stem: d.dag_id for d in dagbag.dags.values()}
    assert by_file == {p.stem: p.stem for p in DAG_FILES}


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_dag_metadata(dagbag, dag_file):
    dag = dagbag.dags.get(dag_file.stem)
    assert dag is not None
    assert dag.tags, "every DAG needs tags"
    assert dag.doc_md and len(dag.doc_md.strip()) > 40, "doc_md must describe the DAG"
    assert dag.default_args.get("owner") not in (None, "", "airflow"), "set a real owner"
    for task in dag.tasks:
        assert task.retries >= 2, f"{task.task_id} has retries={task.retries}"
        notifiers = {type(n).__name__ for n in (task.on_failure_callback or [])}
        assert notifiers == {"SmtpNotifier", "AlertsTopicNotifier"}, f"{task.task_id} alerts via {notifiers}"


# DAGs whose runs end; the streaming DAG runs forever and the simulation DAG is manual.
LATE_AFTER = {"clickstream_alert_drill": 60, "clickstream_hourly": 90 * 60, "clickstream_daily": 4 * 3600,
              "clickstream_reconciliation": 3 * 3600, "clickstream_streaming_health": 10 * 60,
              "clickstream_retention": 2 * 3600}


@pytest.mark.parametrize("dag_id", sorted(LATE_AFTER))
def test_finite_runs_email_when_late(dagbag, dag_id):
    """A deadline alert, counted from queueing, emails through smtp_default when a run is late."""
    from clickstream.settings import get_settings

    (alert,) = dagbag.dags[dag_id].deadline
    assert alert.interval.total_seconds() == LATE_AFTER[dag_id]
    assert type(alert.reference).__name__ == "DagRunQueuedAtDeadline"
    callback = alert.callback.serialize()
    assert callback["path"] == "clickstream_airflow.late_run.LateRunEmail"
    assert callback["kwargs"]["to"] == get_settings().alert_email
    assert callback["kwargs"]["smtp_conn_id"] == "smtp_default"


def test_the_streaming_dag_runs_one_application_forever_and_passes_its_params(dagbag):
    import jinja2

    dag = dagbag.dags["clickstream_streaming"]
    assert dag.max_active_runs == 1 and type(dag.timetable).__name__ == "ContinuousTimetable"
    (task,) = dag.tasks
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    params = {"mode": "available-now", "max_offsets_per_trigger": 500, "fail_on_data_loss": True}
    assert [env.from_string(a).render(params=params) for a in task.application_args] == [
        "--mode", "available-now", "--max-offsets-per-trigger", "500", "--fail-on-data-loss"]
    accept = params | {"fail_on_data_loss": False}
    assert env.from_string(task.application_args[-1]).render(params=accept) == "--no-fail-on-data-loss"
    assert dag.params["mode"] == "continuous" and dag.params["fail_on_data_loss"] is True


def test_the_daily_dag_also_processes_the_day_of_the_first_start(monkeypatch):
    """Started at 18:00, the first daily run covers that (partial) day and runs after its midnight."""
    import pendulum
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import TimeRestriction

    from clickstream.settings import get_settings

    monkeypatch.setenv("CLICKSTREAM_BATCH_START", "2026-12-02T18:00:00+00:00")
    get_settings.cache_clear()
    try:
        first = {}
        for dag_id in ("clickstream_daily", "clickstream_hourly"):
            dag = DagBag(dag_folder=str(REPO_ROOT / "dags" / f"{dag_id}.py")).dags[dag_id]
            # As the scheduler sees it: the serialized DAG, with the scheduler's timetable.
            dag = DagSerialization.from_dict(DagSerialization.to_dict(dag))
            info = dag.timetable.next_dagrun_info(
                last_automated_data_interval=None,
                restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=True))
            first[dag_id] = (info.data_interval.start, info.run_after)
    finally:
        get_settings.cache_clear()
    utc = pendulum.UTC
    assert first["clickstream_daily"] == (pendulum.datetime(2026, 12, 2, tz=utc),
                                          pendulum.datetime(2026, 12, 3, tz=utc))
    assert first["clickstream_hourly"] == (pendulum.datetime(2026, 12, 2, 18, tz=utc),
                                           pendulum.datetime(2026, 12, 2, 19, tz=utc))
