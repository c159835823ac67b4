-- Session behaviour per site: length, depth, bounces, new vs returning users, the most common flow.
{% set dt = data_interval_start.strftime('%Y-%m-%d') %}
INSERT OVERWRITE TABLE {{ clickstream_db }}.report_sessions PARTITION (dt='{{ dt }}')
SELECT
  s.app_id,
  s.sessions,
  round(s.avg_session_s / 60, 1) AS avg_session_min,
  round(s.pages_per_session, 2) AS pages_per_session,
  round(100 * s.bounce_rate, 1) AS bounce_pct,
  s.new_users,
  s.returning_users,
  p.top_flow,
  concat('Average session duration: ', cast(round(s.avg_session_s / 60, 1) AS STRING), ' minutes over ',
         format_number(s.sessions, 0), ' sessions') AS headline
FROM {{ clickstream_db }}.daily_summary s
LEFT JOIN (
  SELECT app_id, concat_ws(' -> ', min(step1), min(step2), min(step3)) AS top_flow
  FROM (
    SELECT app_id, step1, step2, step3,
           row_number() OVER (PARTITION BY app_id ORDER BY occurrences DESC, step1, step2, step3) AS n
    FROM {{ clickstream_db }}.daily_paths
    WHERE dt = '{{ dt }}'
  ) ranked
  WHERE n = 1
  GROUP BY app_id
) p ON p.app_id = s.app_id
WHERE s.dt = '{{ dt }}';
