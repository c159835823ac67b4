"""The one SQL string literal rule (clickstream/sql.py), read back by Spark SQL's parser (HiveServer2's)."""

from __future__ import annotations

from clickstream.sql import string_literal

TRICKY = ["plain", "it's", "a\\b", "\\'", "'; DROP TABLE raw_events; --", "ünï/cødé", "two\nlines", ""]


def test_every_value_reads_back_as_itself(spark):
    query = "SELECT " + ", ".join(f"{string_literal(v)} AS c{i}" for i, v in enumerate(TRICKY))
    assert list(spark.sql(query).first()) == TRICKY
