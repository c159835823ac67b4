"""The platform's Airflow-side code, provider-style: notifiers, sensors, schedules, SparkSubmit options.

Airflow puts its plugins folder on ``sys.path`` (embedded: this directory; production image:
``/opt/airflow/plugins``), so the DAGs import ``clickstream_airflow.*``. The Spark jobs never do:
nothing in ``clickstream/`` imports Airflow.
"""
