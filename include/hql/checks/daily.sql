-- Data-quality checks of one day of clickstream_daily, run by SQLTableCheckOperator through
-- HiveServer2 (clickstream_airflow.checks reads this file). Each "-- check:" names the boolean
-- expression below it, evaluated over the table's rows in the partition.
-- table: {{ clickstream_db }}.daily_summary
-- partition: dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}'

-- check: events_reconcile_with_raw
COALESCE(SUM(events), 0) = (
  SELECT COUNT(*) FROM {{ clickstream_db }}.raw_events WHERE dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}')

-- check: no_null_keys
COUNT(*) = COUNT(app_id) AND (
  SELECT COUNT(*) FROM {{ clickstream_db }}.sessions WHERE dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}'
  AND (app_id IS NULL OR session_id IS NULL OR user_id IS NULL)) = 0

-- check: sessions_sum
COALESCE(SUM(sessions), 0) = (
  SELECT COUNT(*) FROM {{ clickstream_db }}.sessions WHERE dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}')

-- check: channels_sum_to_sessions
(SELECT COALESCE(SUM(sessions), 0) FROM {{ clickstream_db }}.daily_channels
 WHERE dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}') = COALESCE(SUM(sessions), 0)

-- check: pages_sum_to_page_views
(SELECT COALESCE(SUM(page_views), 0) FROM {{ clickstream_db }}.daily_pages
 WHERE dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}') = COALESCE(SUM(page_views), 0)

-- check: hours_sum_to_events
(SELECT COALESCE(SUM(events), 0) FROM {{ clickstream_db }}.daily_hours
 WHERE dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}') = COALESCE(SUM(events), 0)

-- check: geo_sums_to_events
(SELECT COALESCE(SUM(events), 0) FROM {{ clickstream_db }}.daily_geo
 WHERE dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}') = COALESCE(SUM(events), 0)
