-- Error rates and response times per site and hour, with the peak hours marked.
{% set dt = data_interval_start.strftime('%Y-%m-%d') %}
INSERT OVERWRITE TABLE {{ clickstream_db }}.report_errors PARTITION (dt='{{ dt }}')
SELECT
  app_id,
  hr,
  page_views,
  errors,
  round(100 * coalesce(error_rate, 0), 2) AS error_pct,
  response_p95_ms,
  is_peak,
  concat(app_id, ' ', lpad(cast(hr AS STRING), 2, '0'), ':00 UTC: ', cast(round(100 * coalesce(error_rate, 0), 2) AS STRING),
         '% errors, p95 ', cast(cast(round(response_p95_ms) AS BIGINT) AS STRING), ' ms', if(is_peak, ' (peak hour)', '')) AS headline
FROM {{ clickstream_db }}.daily_hours
WHERE dt = '{{ dt }}';
