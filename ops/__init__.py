"""Clients of the platform's own services for the tools that watch and drive it: Airflow's REST API
(``airflow_api``) and the health HDFS and YARN report (``cluster_health``).

The stack's commands (embedded/), the dashboard's Pipeline page, the tests and the benchmarks use them. The
jobs do not: this package is not in the library zipped for Spark (``clickstream`` alone).
"""
