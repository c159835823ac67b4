-- Data-quality checks of one hour of clickstream_hourly, run by SQLTableCheckOperator through
-- HiveServer2 (clickstream_airflow.checks reads this file). Each "-- check:" names the boolean
-- expression below it, evaluated over the table's rows in the partition.
-- table: {{ clickstream_db }}.hourly_pages
-- partition: dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}' AND hr = {{ data_interval_start.hour }}

-- check: events_reconcile_with_raw
COALESCE(SUM(events), 0) = (
  SELECT COUNT(*) FROM {{ clickstream_db }}.raw_events
  WHERE dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}' AND hr = {{ data_interval_start.hour }})

-- check: no_null_keys
COUNT(*) = COUNT(app_id) AND COUNT(*) = COUNT(page)

-- check: page_views_and_errors_fit_events
COALESCE(SUM(CASE WHEN page_views > events OR errors > page_views THEN 1 ELSE 0 END), 0) = 0

-- check: section_sums_fit_page_sums
(SELECT COALESCE(SUM(interactions), 0) FROM {{ clickstream_db }}.hourly_sections
 WHERE dt = '{{ data_interval_start.strftime('%Y-%m-%d') }}' AND hr = {{ data_interval_start.hour }})
  <= COALESCE(SUM(section_interactions), 0)
