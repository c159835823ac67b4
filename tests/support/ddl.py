"""The tables include/hql/create_tables.hql declares, parsed with sqlglot's Hive dialect."""

from __future__ import annotations

import sqlglot

from clickstream.hive import render_hql, split_statements


def declared_tables(settings) -> dict[str, list[tuple[str, str]]]:
    """Return each CREATE TABLE's data columns as (name, TYPE), from the parsed DDL."""
    tables = {}
    for sql in split_statements(render_hql("create_tables.hql", settings)):
        create = sqlglot.parse_one(sql, read="hive")
        if create.kind != "TABLE":
            continue
        schema = create.this
        tables[schema.this.name] = [(c.name, c.args["kind"].sql("hive").upper()) for c in schema.expressions]
    return tables
