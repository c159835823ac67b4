"""The platform's Airflow-side code, provider-style: notifiers, sensors, schedules, SparkSubmit options.

Airflow puts its plugins folder on ``sys.path`` (embedded: this directory; production image:
``/opt/airflow/plugins``), so the DAGs import ``clickstream_airflow.*``. The Spark jobs never do:
nothing in ``clickstream/`` imports Airflow.
"""

from clickstream_airflow.compat import patch_deadline_lookup

patch_deadline_lookup()  # apache/airflow#73428: `airflow dags test` on DAGs with deadline alerts
