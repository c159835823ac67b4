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

from typing import Any

from clickstream.settings import Settings, settings_env


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
    return options
