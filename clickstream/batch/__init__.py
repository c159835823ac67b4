"""The historical side: pure transforms of the hourly and daily Spark batch jobs.

Every function takes archived events (``raw_events``' schema) or a derived
DataFrame and returns a DataFrame whose columns are exactly those of its Hive
table in ``include/hql/create_tables.hql`` (without the partition columns).
"""
