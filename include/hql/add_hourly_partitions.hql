-- Register the hour the hourly job just wrote (a rerun re-registers it; the files were replaced in place).
-- Rendered by Airflow: clickstream_db, hourly_tables (the catalog's), data_interval_start (the hour).
{% set dt = data_interval_start.strftime('%Y-%m-%d') %}{% set hr = data_interval_start.hour %}
{% for table in hourly_tables %}
ALTER TABLE {{ clickstream_db }}.{{ table }} ADD IF NOT EXISTS PARTITION (dt='{{ dt }}', hr={{ hr }});
{% endfor %}
-- The simulators' ledger gains partitions as they write; pick up any new ones.
MSCK REPAIR TABLE {{ clickstream_db }}.sim_ledger;
