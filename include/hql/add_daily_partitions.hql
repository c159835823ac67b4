-- Register the day the daily job just wrote in every daily table.
-- Rendered by Airflow: clickstream_db, daily_tables (the catalog's), data_interval_start (the day).
{% set dt = data_interval_start.strftime('%Y-%m-%d') %}
{% for table in daily_tables %}
ALTER TABLE {{ clickstream_db }}.{{ table }} ADD IF NOT EXISTS PARTITION (dt='{{ dt }}');
{% endfor %}
