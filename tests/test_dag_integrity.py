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
