"""The SparkSubmitOperator arguments that differ between the embedded runtime and the cluster.

DAGs pass ``**spark_options(SETTINGS)`` to every SparkSubmitOperator; the
connection ``spark_default`` says where jobs run (``local[*]``, or ``yarn``
with ``deploy-mode`` in its extra), and these settings say what they carry:

| variable | embedded | production (docker-compose.yml) |
|---|---|---|
| ``CLICKSTREAM_SPARK_JARS`` | ``jvm/lib/spark-kafka/*.jar`` | the same Kafka connector, in the image |
| ``CLICKSTREAM_SPARK_ARCHIVES`` | empty | the jobs' Python environment (venv-pack), ``…#environment`` |
| ``CLICKSTREAM_SPARK_PY_FILES`` | empty | the platform's library, zipped (``clickstream``) |
| ``CLICKSTREAM_SPARK_PYTHON`` | empty | interpreter in YARN containers, ``./environment/bin/python`` |

On YARN the driver runs in the cluster (cluster mode), far from Airflow's
environment, so every ``CLICKSTREAM_*`` setting is also handed to the
application master and the executors as their environment. The embedded
runtime's cluster mode (``make run CLUSTER=yarn``) sets the same variables.
"""

from __future__ import annotations

import time
from typing import Any

from airflow.exceptions import AirflowException
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

from clickstream.hive import PASSWORD_VAR as HIVE_PASSWORD_VAR
from clickstream.secrets import read_secret
from clickstream.settings import Settings, settings_env
from clickstream.streaming.live_store import PASSWORD_VAR as LIVE_PASSWORD_VAR

# YARN states of an application it has not started yet (no ApplicationMaster container).
QUEUED = frozenset({"NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED"})


class UnschedulableApplication(AirflowException):
    """YARN kept an application waiting for its ApplicationMaster's container longer than allowed.

    Not a RuntimeError: the provider's tracking loop takes those for a passing REST failure and polls on.
    """


class BoundedSparkSubmitOperator(SparkSubmitOperator):
    """The provider's SparkSubmitOperator, failing a YARN application that YARN does not start in time.

    The provider polls the ResourceManager until the application ends, however long it waits to be
    scheduled: a job larger than the cluster's free capacity (or its queue's share for application
    masters) would sit ACCEPTED for hours. Here an application still queued after
    ``max_queued_minutes`` is killed and the task fails with YARN's own reason (the application's
    diagnostics, such as "Queue's AM resource limit exceeded"); the task's retries and failure alert
    follow. Outside YARN's cluster deploy mode it is the provider's operator unchanged.

    It relies on three private members of the provider, there being no public way to bound the wait
    (https://github.com/apache/airflow/issues/24171): tests/unit/test_plugins.py pins them, so that a
    provider upgrade that changes them fails a test rather than the bound.
    """

    def __init__(self, *, max_queued_minutes: float = 10, **kwargs):
        super().__init__(**kwargs)
        self.max_queued_minutes = max_queued_minutes

    def _get_hook(self):
        hook = super()._get_hook()
        # The provider's tracking loop asks the ResourceManager through this one method (every poll, and
        # when a retried task looks its application up): bound the time it may answer "queued".
        hook._query_yarn_application_status = _QueueBound(hook, self.max_queued_minutes * 60)
        return hook


class _QueueBound:
    """The hook's status query, raising UnschedulableApplication once queued longer than the limit."""

    def __init__(self, hook, limit_s: float):
        self.hook, self.limit_s = hook, limit_s
        self.query = hook._query_yarn_application_status
        self.queued_since: float | None = None

    def __call__(self, application_id: str) -> tuple[str, str, str]:
        state, final_status, diagnostics = self.query(application_id)
        if state not in QUEUED:
            self.queued_since = None
            return state, final_status, diagnostics
        self.queued_since = self.queued_since or time.monotonic()
        waited = time.monotonic() - self.queued_since
        if waited < self.limit_s:
            return state, final_status, diagnostics
        self.hook._kill_yarn_application(application_id)
        raise UnschedulableApplication(
            f"YARN did not start application {application_id} in {waited:.0f} s (state {state}); "
            "asked YARN to kill it. "
            f"YARN's reason: {diagnostics.strip() or 'none given'}")


def spark_options(settings: Settings, **conf: str) -> dict[str, Any]:
    """Return conf, jars, archives and py_files for a SparkSubmitOperator in this runtime."""
    options: dict[str, Any] = {"conf": {"spark.sql.session.timeZone": "UTC", **conf}}
    if settings.spark_jars:
        options["jars"] = settings.spark_jars
    if settings.spark_archives:
        options["archives"] = settings.spark_archives
    if settings.spark_py_files:
        options["py_files"] = settings.spark_py_files
    if settings.spark_python:  # on YARN, in cluster deploy mode
        # The provider's tracking: spark-submit exits once YARN has the application, the task polls the
        # ResourceManager's REST API (``yarn_resourcemanager_webapp_address`` in spark_default's extra),
        # and a retried task (durable) finds the application it submitted instead of submitting another.
        options["yarn_track_via_rm_api"] = True
        options["status_poll_interval"] = 10
        # spark-submit puts its own PYTHONPATH in front of the containers' (--py-files): the Airflow
        # worker's source tree must not shadow the zip the application ships.
        options["env_vars"] = {"PYTHONPATH": ""}
        # The driver's too: in cluster mode it runs in the application master's container, and spark-submit
        # would otherwise hand it the submitting machine's PYSPARK_DRIVER_PYTHON.
        env = {"PYSPARK_PYTHON": settings.spark_python, "PYSPARK_DRIVER_PYTHON": settings.spark_python,
               **settings_env(settings)}
        for name, value in env.items():
            options["conf"][f"spark.yarn.appMasterEnv.{name}"] = value
            options["conf"][f"spark.executorEnv.{name}"] = value
        # The driver's secrets, by value: its container cannot read this machine's secret files. The driver
        # alone logs in to HiveServer2 and writes the Live page's store; the executors get neither. (Spark
        # redacts them in its UI and logs: spark.redaction.regex matches "password".)
        for name in (HIVE_PASSWORD_VAR, LIVE_PASSWORD_VAR):
            if value := read_secret(name):
                options["conf"][f"spark.yarn.appMasterEnv.{name}"] = value
    return options
