-- One sentence per finding, per site: the answers on the dashboard's front page.
{% set dt = data_interval_start.strftime('%Y-%m-%d') %}
INSERT OVERWRITE TABLE {{ clickstream_db }}.report_headlines PARTITION (dt='{{ dt }}')
SELECT app_id, metric, metric_value, headline FROM (
  SELECT app_id, 'top_page_share' AS metric, round(100 * traffic_share, 1) AS metric_value,
         concat(page, ' accounts for ', cast(round(100 * traffic_share, 1) AS STRING), '% of traffic') AS headline
  FROM {{ clickstream_db }}.daily_pages
  WHERE dt = '{{ dt }}' AND rank_in_app = 1
  UNION ALL
  SELECT app_id, 'add_to_cart', cast(add_to_cart AS DOUBLE),
         concat('Add-to-cart button clicked ', format_number(add_to_cart, 0), ' times')
  FROM {{ clickstream_db }}.daily_summary
  WHERE dt = '{{ dt }}' AND add_to_cart > 0
  UNION ALL
  SELECT app_id, 'avg_session_min', round(avg_session_s / 60, 1),
         concat('Average session duration: ', cast(round(avg_session_s / 60, 1) AS STRING), ' minutes')
  FROM {{ clickstream_db }}.daily_summary
  WHERE dt = '{{ dt }}' AND sessions > 0
  UNION ALL
  SELECT app_id, 'peak_slowdown_pct', round(100 * (peak_slowdown - 1), 1),
         concat('Response time (p95) ', if(peak_slowdown > 1, 'increased', 'did not increase'),
                ' during peak hours: ', cast(cast(round(peak_response_p95_ms) AS BIGINT) AS STRING), ' ms vs ',
                cast(cast(round(offpeak_response_p95_ms) AS BIGINT) AS STRING), ' ms off-peak')
  FROM {{ clickstream_db }}.daily_summary
  WHERE dt = '{{ dt }}' AND peak_slowdown IS NOT NULL
  UNION ALL
  SELECT app_id, 'bot_share_pct', round(100 * bot_share, 1),
         concat('Bots made ', cast(round(100 * bot_share, 1) AS STRING), '% of events')
  FROM {{ clickstream_db }}.daily_summary
  WHERE dt = '{{ dt }}' AND events > 0
  UNION ALL
  SELECT app_id, 'top_city_events', cast(events AS DOUBLE),
         concat('Highest traffic city: ', city, ' (', country, ')')
  FROM (
    SELECT app_id, city, country, events,
           row_number() OVER (PARTITION BY app_id ORDER BY events DESC, country, city) AS n
    FROM {{ clickstream_db }}.daily_geo
    WHERE dt = '{{ dt }}'
  ) geo
  WHERE n = 1
) headlines;
