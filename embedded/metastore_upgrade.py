"""Register again the tables of a data directory whose metastore was Derby (before the PostgreSQL metastore).

Until 2026-12-06 the embedded HiveServer2 kept its metastore in Derby, in ``data/metastore/db``. The
warehouse's files are where they were; only their registration is in Derby. On the first start with the
PostgreSQL metastore, ``make run`` reads the platform database's tables, views and partitions out of Derby
(a local Spark session with the same Hive 2.3 client HiveServer2 ran, in a process of its own) and
creates them again through HiveServer2. Derby's directory is then renamed ``metastore.derby-registered``:
kept, never read again, safe to delete. docs/decisions/metastore-postgresql.md.

``python -m embedded.metastore_upgrade dump DERBY_DIR DATABASE`` prints what Derby holds, as JSON.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

from clickstream.hive import execute
from clickstream.settings import Settings
from embedded.environment import stack_env

log = logging.getLogger(__name__)

PARTITIONS_PER_STATEMENT = 200


def derby_dir(settings: Settings) -> Path:
    """Return the directory of the Derby metastore of a data directory from before PostgreSQL."""
    return settings.data_dir / "metastore"


def dump(derby: Path, database: str) -> dict:
    """Return {"tables": [{name, ddl, is_view, partitions: [spec…]}]} of one database of a Derby metastore."""
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[1]").appName("clickstream-metastore-upgrade")
             .config("spark.ui.enabled", "false")
             .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                     f"jdbc:derby:;databaseName={derby / 'db'};create=false")
             .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={derby}")
             .enableHiveSupport().getOrCreate())
    try:
        if database not in [row[0] for row in spark.sql("SHOW DATABASES").collect()]:
            return {"tables": []}
        tables = []
        for row in spark.sql(f"SHOW TABLES IN `{database}`").collect():
            if row.isTemporary:
                continue
            kind = spark.catalog.getTable(f"{database}.{row.tableName}").tableType
            is_view = kind == "VIEW"
            ddl = spark.sql(f"SHOW CREATE TABLE `{database}`.`{row.tableName}`"
                            + ("" if is_view else " AS SERDE")).collect()[0][0]
            parts = [] if is_view or not _partitioned(spark, database, row.tableName) else [
                p[0] for p in spark.sql(f"SHOW PARTITIONS `{database}`.`{row.tableName}`").collect()]
            tables.append({"name": row.tableName, "ddl": ddl, "is_view": is_view, "partitions": parts})
        return {"tables": tables}
    finally:
        spark.stop()


def _partitioned(spark, database: str, table: str) -> bool:
    return any(c.isPartition for c in spark.catalog.listColumns(table, database))


def partition_spec(name: str) -> str:
    """Return the PARTITION clause of a partition name ("dt=2026-12-06/hr=14")."""
    pairs = (part.split("=", 1) for part in name.split("/"))
    values = ", ".join(f"`{unquote(k)}`='{unquote(v).replace(chr(39), chr(92) + chr(39))}'" for k, v in pairs)
    return f"PARTITION ({values})"


def if_not_exists(ddl: str) -> str:
    """Return a CREATE TABLE / CREATE VIEW statement that does nothing when its object exists."""
    return re.sub(r"^\s*CREATE\s+(EXTERNAL\s+TABLE|TABLE|VIEW)\s+(?!IF NOT EXISTS)",
                  lambda m: f"CREATE {m.group(1)} IF NOT EXISTS ", ddl, count=1, flags=re.IGNORECASE)


def register(settings: Settings, holding: dict) -> int:
    """Create the dumped tables (views last), add their partitions through HiveServer2; return how many."""
    added = 0
    for table in sorted(holding["tables"], key=lambda t: t["is_view"]):
        execute(settings, if_not_exists(table["ddl"]))
        names = table["partitions"]
        for start in range(0, len(names), PARTITIONS_PER_STATEMENT):
            specs = " ".join(partition_spec(n) for n in names[start:start + PARTITIONS_PER_STATEMENT])
            execute(settings,
                    f"ALTER TABLE {settings.hive_database}.{table['name']} ADD IF NOT EXISTS {specs}")
        added += len(names)
    return added


def register_derby_tables(settings: Settings) -> None:
    """Once per data directory: register again in HiveServer2 what the Derby metastore of before held."""
    derby = derby_dir(settings)
    if not (derby / "db").is_dir():
        return
    log.info("registering the tables of the Derby metastore %s in the PostgreSQL metastore", derby)
    result = subprocess.run(
        [sys.executable, "-m", "embedded.metastore_upgrade", "dump", str(derby), settings.hive_database],
        env=stack_env(settings), capture_output=True, text=True, cwd=settings.repo_root)
    if result.returncode != 0:
        raise RuntimeError(f"reading the Derby metastore {derby} failed (it is kept as it was):\n"
                           f"{result.stderr[-3000:]}")
    holding = json.loads(result.stdout.strip().splitlines()[-1])
    added = register(settings, holding)
    derby.rename(derby.with_name("metastore.derby-registered"))
    log.info("registered %d tables and views and %d partitions from Derby; %s is kept as %s",
             len(holding["tables"]), added, derby, derby.with_name("metastore.derby-registered"))


def main(argv: list[str] | None = None) -> int:
    """``dump DERBY_DIR DATABASE``: print what the Derby metastore holds of DATABASE, as one JSON line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "dump":
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(dump(Path(args[1]), args[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
