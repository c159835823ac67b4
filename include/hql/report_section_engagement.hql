-- How often each section is interacted with, ranked within its site.
{% set dt = data_interval_start.strftime('%Y-%m-%d') %}
INSERT OVERWRITE TABLE {{ clickstream_db }}.report_section_engagement PARTITION (dt='{{ dt }}')
SELECT
  app_id,
  page,
  section,
  interactions,
  section_clicks + button_clicks AS clicks,
  unique_users,
  rank_in_app,
  concat(section, ' on ', page, ' was interacted with ', format_number(interactions, 0), ' times by ',
         format_number(unique_users, 0), ' users') AS headline
FROM {{ clickstream_db }}.daily_sections
WHERE dt = '{{ dt }}';
