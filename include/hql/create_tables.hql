-- Tables of the hourly and daily batch jobs and of the reports, in the platform's one database.
--
-- Every table is EXTERNAL over a directory of the warehouse ({{ warehouse_uri }}: file:// embedded,
-- hdfs:// in production), so dropping a table never deletes data; every statement is IF NOT EXISTS,
-- so the file can run before every job. The tables, their partitions and columns are the catalog's
-- (clickstream/catalog.py, rendered as batch_tables_ddl); they match the DataFrames the Spark jobs
-- write (tests/unit/warehouse/test_hql.py checks both ways). The streaming job's own tables
-- (raw_events, bad_events, live_*, stream_progress) are created by the streaming application from the
-- event contract (clickstream/streaming/hive.py) before any batch job runs.
--
-- Rendered by Airflow (HiveOperator) with: clickstream_db, batch_tables_ddl (clickstream/hive.py).

CREATE DATABASE IF NOT EXISTS {{ clickstream_db }};

{{ batch_tables_ddl }}