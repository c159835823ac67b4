"""A live partition's files compacted: every row exactly once for a reader of either generation, a failed
attempt's files left to its replay, a crash before the switch switched at the next start, superseded files
deleted after the grace period, and a table partitioned by day moved into hours.

The metastore is HiveServer2's, which these tests do not start: ``switch`` records where each partition
was pointed (tests/integration/test_streaming_job.py runs the compaction against the real one).
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import functions as F

from clickstream.streaming import archive
from clickstream.streaming.compaction import COMPACTED, SWITCHED, Generations, LiveTable, current_dirs
from clickstream.streaming.hour_partitions import BY_DAY, into_hours

COLUMNS = ("dt", "hr")
HOUR = ("2026-12-07", "14")


class Metastore:
    """Stands in for HiveServer2's ALTER TABLE … SET LOCATION: where each partition points."""

    def __init__(self):
        self.locations: dict[tuple[str, ...], str] = {}

    def switch(self, table, columns, values, location):
        self.locations[values] = location


def rows(spark, batch_id: int, n: int = 3):
    return spark.createDataFrame([(f"{batch_id}-{i}", batch_id, HOUR[0], int(HOUR[1])) for i in range(n)],
                                 "id string, batch_id long, dt string, hr int")


def live_table(spark, tmp_path: Path, metastore: Metastore, max_files: int = 3, grace_s: float = 600.0):
    return LiveTable(spark, "live_paths", (tmp_path / "live_paths").as_uri(), COLUMNS,
                     (tmp_path / "_staging" / "compaction").as_uri(), metastore.switch, max_files, grace_s)


def write(spark, table: LiveTable, tmp_path: Path, batch_id: int, owner: str = "q1") -> None:
    """One batch's write as Warehouse.write does it: compaction first, then the file into the location."""
    table.compact_due(batch_id, owner)
    touched = archive.write_batch(rows(spark, batch_id), batch_id, table.table_uri,
                                  (tmp_path / "_staging" / "live_paths").as_uri(), COLUMNS, owner=owner,
                                  small=True, locate=table.location)
    table.written(touched)


def ids(spark, directory: str) -> list[str]:
    return sorted(r.id for r in spark.read.parquet(directory).collect())


def data_files(directory: str) -> list[str]:
    path = Path(directory.removeprefix("file://"))
    return sorted(p.name for p in path.iterdir() if p.is_file() and p.suffix == ".parquet")


def test_a_partition_over_its_files_becomes_one_file_read_exactly_once_from_either_location(spark, tmp_path):
    metastore = Metastore()
    table = live_table(spark, tmp_path, metastore, max_files=3)
    for batch_id in range(4):  # four files: one more than allowed
        write(spark, table, tmp_path, batch_id)
    gen0 = table.location(HOUR)
    assert len(data_files(gen0)) == 4 and metastore.locations == {}
    expected = sorted(f"{b}-{i}" for b in range(4) for i in range(3))

    write(spark, table, tmp_path, 4)  # compacts first, then writes into the new generation
    gen1 = table.location(HOUR)
    assert gen1.endswith("/hr=14/_g000001") and metastore.locations == {HOUR: gen1}
    assert data_files(gen1) == ["batch-0000000004-q1.parquet", COMPACTED]
    assert ids(spark, gen1) == sorted([*expected, "4-0", "4-1", "4-2"])
    # A reader that resolved the old location before the switch still reads every row it had, once.
    assert ids(spark, gen0) == expected
    # Spark reads a partition's own files: the generations below it are not read twice.
    back = spark.read.parquet(str(tmp_path / "live_paths"))
    assert sorted(r.id for r in back.collect()) == expected


def test_a_failed_attempt_of_the_batch_is_left_to_its_replay(spark, tmp_path):
    metastore = Metastore()
    table = live_table(spark, tmp_path, metastore, max_files=3)
    for batch_id in range(3):
        write(spark, table, tmp_path, batch_id)
    # Batch 3 wrote its file, then failed before its commit: the replay compacts without it ...
    archive.write_batch(rows(spark, 3), 3, table.table_uri, (tmp_path / "_staging" / "x").as_uri(), COLUMNS,
                        owner="q1", small=True, locate=table.location)
    table.written([HOUR])
    # ... and a file of another query (an earlier checkpoint's batch 3) is committed data: kept.
    archive.write_batch(rows(spark, 3).withColumn("id", F.concat(F.lit("old-"), "id")), 3, table.table_uri,
                        (tmp_path / "_staging" / "x").as_uri(), COLUMNS, owner="q0", small=True,
                        locate=table.location)
    table.written([HOUR])
    write(spark, table, tmp_path, 3)
    assert ids(spark, table.location(HOUR)) == sorted(
        [f"{b}-{i}" for b in range(4) for i in range(3)] + [f"old-3-{i}" for i in range(3)])


def test_a_generation_made_but_not_switched_is_switched_at_the_next_start(spark, tmp_path):
    table = live_table(spark, tmp_path, Metastore(), max_files=1)
    for batch_id in range(3):
        write(spark, table, tmp_path, batch_id)
    gen = Path(table.location(HOUR).removeprefix("file://"))
    (gen / SWITCHED).unlink()  # the crash came between the new generation and the metastore
    restarted_metastore = Metastore()
    restarted = live_table(spark, tmp_path, restarted_metastore, max_files=1)
    restarted.recover([f"{table.table_uri}/dt=2026-12-07"])
    assert restarted_metastore.locations == {HOUR: table.location(HOUR)}
    assert (gen / SWITCHED).exists()
    (current,) = current_dirs(spark, table.table_uri, [f"{table.table_uri}/dt=2026-12-07"])
    assert current.endswith("/dt=2026-12-07/hr=14/_g000001")  # what a restart reads by path


def test_what_a_compaction_replaced_is_deleted_after_the_grace_period(spark, tmp_path):
    table = live_table(spark, tmp_path, Metastore(), max_files=2, grace_s=0)
    for batch_id in range(6):  # compactions at batches 3 and 5 (three files each time)
        write(spark, table, tmp_path, batch_id)
    table.compact_due(6, "q1")  # nothing due; the sweep deletes what is past the grace period
    partition = Path(table.location(HOUR).removeprefix("file://")).parent
    assert Generations.read(table.fs, str(partition)).numbers == [2]
    assert data_files(str(partition)) == []  # generation 0's own files
    assert ids(spark, table.location(HOUR)) == sorted(f"{b}-{i}" for b in range(6) for i in range(3))


def test_a_table_partitioned_by_day_moves_into_hours_once(spark, tmp_path):
    table = tmp_path / "live_alerts"
    frame = spark.createDataFrame(
        [(f"a{i}", f"2026-12-0{6 + i % 2} {10 + i % 3}:0{i % 10}:00", "2026-12-0" + str(6 + i % 2))
         for i in range(12)], "id string, ts string, dt string",
    ).withColumn("window_start", F.to_timestamp("ts"))
    for batch_id in range(3):  # the former layout: a file per batch in each day's directory
        archive.write_batch(frame.filter(F.col("id").endswith(str(batch_id))), batch_id, table.as_uri(),
                            (tmp_path / "_staging" / "a").as_uri(), ("dt",), small=True)
    for _ in range(2):  # a second run (after a crash) writes the same files again
        into_hours(spark, table.as_uri(), "window_start", (tmp_path / "_staging" / "by_hour").as_uri())
    kept = [i for i in range(12) if i % 10 < 3]  # the ids the three batches wrote
    moved = sorted(p.relative_to(table).as_posix() for p in table.rglob("*.parquet"))
    assert moved == sorted({f"dt=2026-12-0{6 + i % 2}/hr={10 + i % 3}/{BY_DAY}" for i in kept})
    back = spark.read.parquet(str(table))
    assert sorted((r.id, r.hr, str(r.dt)) for r in back.collect()) == sorted(
        (f"a{i}", 10 + i % 3, f"2026-12-0{6 + i % 2}") for i in kept)
