-- Users and views per page per day, and each page's share of its site's traffic:
-- "/products accounts for 38.2% of shop traffic".
{% set dt = data_interval_start.strftime('%Y-%m-%d') %}
INSERT OVERWRITE TABLE {{ clickstream_db }}.report_page_traffic PARTITION (dt='{{ dt }}')
SELECT
  app_id,
  page,
  unique_users,
  page_views,
  round(100 * traffic_share, 1) AS traffic_pct,
  concat(page, ' accounts for ', cast(round(100 * traffic_share, 1) AS STRING), '% of ', app_id, ' traffic')
    AS headline
FROM {{ clickstream_db }}.daily_pages
WHERE dt = '{{ dt }}' AND page_views > 0;
