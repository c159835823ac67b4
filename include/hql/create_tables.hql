-- Tables of the hourly and daily batch jobs and of the reports, in the platform's one database.
--
-- Every table is EXTERNAL over a directory of the warehouse ({{ warehouse_uri }}: file:// embedded,
-- hdfs:// in production), so dropping a table never deletes data; every statement is IF NOT EXISTS,
-- so the file can run before every job. Column lists match the DataFrames the Spark jobs write
-- (clickstream/batch/; tests/warehouse/test_hql.py checks both ways). The streaming job's own tables
-- (raw_events, bad_events, live_*, stream_progress) are created by the streaming application from the
-- event contract (clickstream/streaming/hive.py) before any batch job runs.
--
-- Rendered by Airflow (HiveOperator) with: clickstream_db, warehouse_uri.

CREATE DATABASE IF NOT EXISTS {{ clickstream_db }};

-- The simulators' ground-truth ledger (simulators/ledger.py writes the files, one per process run
-- and day; readers sum over run_id). Partitions appear as the simulators write them: the hourly DAG
-- repairs them (MSCK REPAIR TABLE in add_hourly_partitions.hql).
CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.sim_ledger (
  hr INT,
  run_id STRING,
  generated BIGINT,
  sent BIGINT,
  accepted BIGINT,
  rejected BIGINT,
  rejected_by_reason MAP<STRING, BIGINT>
)
PARTITIONED BY (dt STRING, app STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/sim_ledger';

-- The hourly reconciliation (dags/clickstream_reconciliation.py, clickstream/reconcile.py): per app and
-- hour of event time, the ledger's counts against the dead-letter topic, raw_events and hourly_pages.
-- Columns match clickstream.reconcile.COLUMNS (tests/warehouse/test_hql.py).
CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.reconciliation (
  app_id STRING,
  generated BIGINT,
  sent BIGINT,
  accepted BIGINT,
  rejected BIGINT,
  dead_lettered BIGINT,
  archived BIGINT,
  aggregated BIGINT,
  status STRING,
  message STRING,
  checked_at TIMESTAMP
)
PARTITIONED BY (dt STRING, hr INT)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/reconciliation';

-- Hourly job (include/spark_jobs/clickstream_hourly.py): one partition per UTC hour of event time.

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.hourly_pages (
  app_id STRING,
  page STRING,
  events BIGINT,
  page_views BIGINT,
  unique_users BIGINT,
  section_interactions BIGINT,
  add_to_cart BIGINT,
  time_on_page_avg_ms DOUBLE,
  response_p50_ms DOUBLE,
  response_p95_ms DOUBLE,
  errors BIGINT,
  error_rate DOUBLE
)
PARTITIONED BY (dt STRING, hr INT)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/hourly_pages';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.hourly_sections (
  app_id STRING,
  page STRING,
  section STRING,
  interactions BIGINT,
  section_views BIGINT,
  section_clicks BIGINT,
  section_scrolls BIGINT,
  section_hovers BIGINT,
  button_clicks BIGINT,
  unique_users BIGINT
)
PARTITIONED BY (dt STRING, hr INT)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/hourly_sections';

-- Daily job (include/spark_jobs/clickstream_daily.py): one partition per UTC day (sessions by start day).

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.sessions (
  app_id STRING,
  session_id STRING,
  user_id STRING,
  start_ts TIMESTAMP,
  end_ts TIMESTAMP,
  duration_s DOUBLE,
  events BIGINT,
  page_views BIGINT,
  bounce BOOLEAN,
  entry_page STRING,
  exit_page STRING,
  channel STRING,
  device_type STRING,
  browser STRING,
  os STRING,
  country STRING,
  city STRING,
  is_bot BOOLEAN,
  is_new_user BOOLEAN,
  converted BOOLEAN,
  revenue DOUBLE,
  crosses_midnight BOOLEAN
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/sessions';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.daily_pages (
  app_id STRING,
  page STRING,
  page_views BIGINT,
  unique_users BIGINT,
  traffic_share DOUBLE,
  section_interactions BIGINT,
  time_on_page_avg_ms DOUBLE,
  entrances BIGINT,
  exits BIGINT,
  rank_in_app INT
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/daily_pages';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.daily_sections (
  app_id STRING,
  page STRING,
  section STRING,
  interactions BIGINT,
  section_views BIGINT,
  section_clicks BIGINT,
  section_scrolls BIGINT,
  section_hovers BIGINT,
  button_clicks BIGINT,
  unique_users BIGINT,
  rank_in_app INT
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/daily_sections';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.daily_paths (
  app_id STRING,
  step1 STRING,
  step2 STRING,
  step3 STRING,
  occurrences BIGINT,
  sessions BIGINT,
  rank_in_app INT
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/daily_paths';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.daily_funnels (
  app_id STRING,
  funnel STRING,
  step INT,
  step_name STRING,
  users BIGINT,
  drop_off BIGINT,
  conversion_from_start DOUBLE,
  conversion_from_previous DOUBLE
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/daily_funnels';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.daily_geo (
  app_id STRING,
  country STRING,
  city STRING,
  events BIGINT,
  page_views BIGINT,
  unique_users BIGINT,
  sessions BIGINT,
  latitude DOUBLE,
  longitude DOUBLE
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/daily_geo';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.daily_channels (
  app_id STRING,
  channel STRING,
  sessions BIGINT,
  unique_users BIGINT,
  bounce_rate DOUBLE,
  conversions BIGINT,
  conversion_rate DOUBLE,
  revenue DOUBLE
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/daily_channels';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.daily_devices (
  app_id STRING,
  device_type STRING,
  browser STRING,
  sessions BIGINT,
  unique_users BIGINT,
  avg_duration_s DOUBLE
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/daily_devices';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.daily_hours (
  app_id STRING,
  hr INT,
  events BIGINT,
  page_views BIGINT,
  unique_users BIGINT,
  response_p50_ms DOUBLE,
  response_p95_ms DOUBLE,
  errors BIGINT,
  error_rate DOUBLE,
  traffic_rank INT,
  is_peak BOOLEAN
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/daily_hours';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.daily_summary (
  app_id STRING,
  events BIGINT,
  page_views BIGINT,
  unique_users BIGINT,
  new_users BIGINT,
  returning_users BIGINT,
  sessions BIGINT,
  avg_session_s DOUBLE,
  pages_per_session DOUBLE,
  bounce_rate DOUBLE,
  bot_events BIGINT,
  bot_share DOUBLE,
  add_to_cart BIGINT,
  purchases BIGINT,
  revenue DOUBLE,
  errors BIGINT,
  error_rate DOUBLE,
  peak_response_p95_ms DOUBLE,
  offpeak_response_p95_ms DOUBLE,
  peak_slowdown DOUBLE
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/daily_summary';

-- Reports (include/hql/report_*.hql): what analysts ask, filled by Hive from the daily tables.

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.report_page_traffic (
  app_id STRING,
  page STRING,
  unique_users BIGINT,
  page_views BIGINT,
  traffic_pct DOUBLE,
  headline STRING
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/report_page_traffic';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.report_section_engagement (
  app_id STRING,
  page STRING,
  section STRING,
  interactions BIGINT,
  clicks BIGINT,
  unique_users BIGINT,
  rank_in_app INT,
  headline STRING
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/report_section_engagement';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.report_sessions (
  app_id STRING,
  sessions BIGINT,
  avg_session_min DOUBLE,
  pages_per_session DOUBLE,
  bounce_pct DOUBLE,
  new_users BIGINT,
  returning_users BIGINT,
  top_flow STRING,
  headline STRING
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/report_sessions';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.report_errors (
  app_id STRING,
  hr INT,
  page_views BIGINT,
  errors BIGINT,
  error_pct DOUBLE,
  response_p95_ms DOUBLE,
  is_peak BOOLEAN,
  headline STRING
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/report_errors';

CREATE EXTERNAL TABLE IF NOT EXISTS {{ clickstream_db }}.report_headlines (
  app_id STRING,
  metric STRING,
  metric_value DOUBLE,
  headline STRING
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
LOCATION '{{ warehouse_uri }}/{{ clickstream_db }}/report_headlines';
