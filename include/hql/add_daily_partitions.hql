-- Register the day the daily job just wrote in every daily table.
-- Rendered by Airflow: clickstream_db, data_interval_start (the day).
{% set dt = data_interval_start.strftime('%Y-%m-%d') %}
{% for table in ['sessions', 'daily_pages', 'daily_sections', 'daily_paths', 'daily_funnels', 'daily_geo',
                 'daily_channels', 'daily_devices', 'daily_hours', 'daily_summary'] %}
ALTER TABLE {{ clickstream_db }}.{{ table }} ADD IF NOT EXISTS PARTITION (dt='{{ dt }}');
{% endfor %}
