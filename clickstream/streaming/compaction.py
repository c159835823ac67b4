"""The live tables' partitions kept small: at most ``max_files`` files each, exactly once for every reader.

Every micro-batch adds a file to each live partition it touches (hourly partitions: ``dt``/``hr``), one
every few seconds, for as long as the platform runs. Listing them is what a read of a live table costs,
so a partition is compacted once its current directory holds more than ``max_files`` files:

    live_paths/dt=2026-12-07/hr=14/batch-0000000041-1f2e3d4c.parquet   generation 0: the partition's own
    live_paths/dt=2026-12-07/hr=14/batch-0000000042-1f2e3d4c.parquet   directory, as it is registered
    live_paths/dt=2026-12-07/hr=14/_g000001/compacted.parquet          generation 1: generation 0's rows
    live_paths/dt=2026-12-07/hr=14/_g000001/_SWITCHED                  the metastore points here
    live_paths/dt=2026-12-07/hr=14/_g000001/batch-0000000143-1f2e3d4c.parquet   a batch after the switch

A compaction, at the start of a batch's write into the table (every batch before it is committed): the
rows of the current directory's files, but those of this batch from a failed attempt (the replay rewrites
them), are written as one file into the next generation's directory (``compacted.parquet``, moved into
place: the generation is complete once it is there); then the partition's location is switched in the
metastore (``ALTER TABLE … PARTITION … SET LOCATION``, one metastore transaction): a reader through
HiveServer2 reads either the old files or the new one, never both, never neither. ``_SWITCHED`` records the
switch. The batch then writes into the new directory. The old one is deleted ``grace_s`` later: a reader
that listed it just before the switch finishes first.

Spark reads a partition's own files, not its subdirectories (and no name starting with ``_``): the
generations inside the partition's directory are invisible to a reader of another generation, and a
day's directory holds everything of that day (retention deletes it whole). The application's own readers
by path (a restart's read-back) read each partition's newest complete generation (``current_dirs``).

A crash between the new generation and the switch: the metastore still points at the old directory, which
holds the same rows; the next touch of the partition (or the start's ``recover``) switches it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession

from clickstream.streaming.archive import HadoopFs, data_files, partition_dir

log = logging.getLogger("clickstream.compaction")

GENERATION_PREFIX = "_g"
COMPACTED = "compacted.parquet"
SWITCHED = "_SWITCHED"


def generation_name(number: int) -> str:
    return f"{GENERATION_PREFIX}{number:06d}"


def _generation_number(name: str) -> int | None:
    digits = name[len(GENERATION_PREFIX):]
    return int(digits) if name.startswith(GENERATION_PREFIX) and digits.isdigit() else None


def _is_data_file(status) -> bool:
    name = status.getPath().getName()
    return status.isFile() and name.endswith(".parquet") and not name.startswith(("_", "."))


@dataclass
class Generations:
    """What a partition's directory holds: its generations, the complete ones, the switched ones."""

    directory: str
    numbers: list[int] = field(default_factory=list)  # every generation directory, complete or not
    complete: list[int] = field(default_factory=list)
    switched: set[int] = field(default_factory=set)

    @classmethod
    def read(cls, fs: HadoopFs, directory: str) -> Generations:
        found = cls(directory)
        for status in fs.list(directory):
            number = _generation_number(status.getPath().getName())
            if number is None or not status.isDirectory():
                continue
            found.numbers.append(number)
            names = {s.getPath().getName() for s in fs.list(str(status.getPath()))}
            if COMPACTED in names:
                found.complete.append(number)
            if SWITCHED in names:
                found.switched.add(number)
        found.numbers.sort()
        found.complete.sort()
        return found

    @property
    def current(self) -> int:
        """The newest complete generation (0: the partition's own directory)."""
        return self.complete[-1] if self.complete else 0

    def location(self, number: int | None = None) -> str:
        number = self.current if number is None else number
        return self.directory if number == 0 else f"{self.directory}/{generation_name(number)}"


def current_local_dir(partition: Path) -> Path:
    """The directory a partition on the local file system reads from now (for the benchmarks and tests,
    which look at files without Spark): its newest complete generation, else itself."""
    complete = [g for g in sorted(partition.glob(f"{GENERATION_PREFIX}*")) if (g / COMPACTED).exists()]
    return complete[-1] if complete else partition


def current_dirs(spark: SparkSession, table_uri: str, day_dirs: list[str]) -> list[str]:
    """Return the directory each hour partition of these days reads from now (its newest complete
    generation): what a reader by path reads instead of ``<table>/dt=…/hr=…``."""
    fs = HadoopFs(spark, table_uri)
    dirs = []
    for day in day_dirs:
        for status in fs.list(day):
            if status.isDirectory() and status.getPath().getName().startswith("hr="):
                dirs.append(Generations.read(fs, str(status.getPath())).location())
    return dirs


@dataclass
class _Partition:
    values: tuple[str, ...]
    generations: Generations
    files: int  # data files in the current generation's directory


class LiveTable:
    """One live table's partitions: where each is written now, and their compaction (see module doc).

    ``switch``: sets a partition's location in the metastore (table, partition columns, values, uri).
    Used by one thread at a time (the table's write in its batch).
    """

    def __init__(self, spark: SparkSession, name: str, table_uri: str, columns: tuple[str, ...],
                 staging_uri: str, switch: Callable[[str, tuple[str, ...], tuple[str, ...], str], None],
                 max_files: int, grace_s: float):
        self.spark, self.name, self.table_uri, self.columns = spark, name, table_uri.rstrip("/"), columns
        self.staging_uri, self.switch = staging_uri.rstrip("/"), switch
        self.max_files, self.grace_s = max_files, grace_s
        self.fs = HadoopFs(spark, self.table_uri)
        self.partitions: dict[tuple[str, ...], _Partition] = {}
        self.superseded: list[tuple[float, str, bool]] = []  # (when, directory, whole directory)

    def location(self, values: tuple[str, ...]) -> str:
        """Return the directory a batch writes the partition's file into."""
        return self._partition(values).generations.location()

    def written(self, touched: list[tuple[str, ...]]) -> None:
        """Count the files a batch wrote."""
        for values in touched:
            self._partition(values).files += 1

    def recover(self, day_dirs: list[str]) -> None:
        """Look at every hour partition of these days (a start): a generation made but not switched is
        switched, superseded generations a crash left are deleted after the grace period."""
        for day in day_dirs:
            dt = day.rstrip("/").rsplit("/", 1)[-1].split("=", 1)[1]
            for status in self.fs.list(day):
                name = status.getPath().getName()
                if status.isDirectory() and name.startswith("hr="):
                    self._partition((dt, name.split("=", 1)[1]))

    def compact_due(self, batch_id: int, owner: str) -> list[tuple[str, ...]]:
        """Compact every partition holding more than ``max_files`` files; return which."""
        due = [p for p in self.partitions.values() if p.files > self.max_files]
        for partition in due:
            self._compact(partition, batch_id, owner)
        self._sweep()
        return [p.values for p in due]

    def _partition(self, values: tuple[str, ...]) -> _Partition:
        known = self.partitions.get(values)
        if known is None:
            generations = Generations.read(self.fs, partition_dir(self.table_uri, self.columns, values))
            current = generations.current
            if current and current not in generations.switched:  # made, then a crash before the switch
                self._switch(values, generations, current)
            for number in generations.numbers:
                if number != current:  # superseded, or never completed
                    self._supersede(generations.location(number), whole=True)
            if current:
                self._supersede(generations.directory, whole=False)
            files = sum(1 for s in self.fs.list(generations.location()) if _is_data_file(s))
            known = self.partitions[values] = _Partition(values, generations, files)
        return known

    def _compact(self, partition: _Partition, batch_id: int, owner: str) -> None:
        generations = partition.generations
        source = generations.location()
        files = [str(s.getPath()) for s in self.fs.list(source)
                 if _is_data_file(s) and not _this_batch_or_later(s.getPath().getName(), batch_id, owner)]
        if not files:  # only a failed attempt's files: the replay rewrites them
            partition.files = 0
            return
        number = (generations.numbers[-1] if generations.numbers else 0) + 1
        target = generations.location(number)
        started = time.monotonic()
        staging = f"{self.staging_uri}/{self.name}-{'-'.join(partition.values)}-{generation_name(number)}"
        rows = self.spark.read.option("mergeSchema", "true").parquet(*files)
        rows.coalesce(1).write.mode("overwrite").parquet(staging)
        (written, _), = data_files(self.fs, staging, ())
        self.fs.replace(written, f"{target}/{COMPACTED}")  # the generation is complete
        self.fs.delete(staging)
        generations.numbers.append(number)
        generations.complete.append(number)
        self._switch(partition.values, generations, number)
        self._supersede(source, whole=source != generations.directory)
        partition.files = 1
        log.info("compacted %s %s: %d files into %s in %.0f ms", self.name, "/".join(partition.values),
                 len(files), target, (time.monotonic() - started) * 1000)

    def _switch(self, values: tuple[str, ...], generations: Generations, number: int) -> None:
        location = generations.location(number)
        self.switch(self.name, self.columns, values, location)
        out = self.fs.fs.create(self.fs.path(f"{location}/{SWITCHED}"), True)
        out.close()
        generations.switched.add(number)

    def _supersede(self, directory: str, whole: bool) -> None:
        self.superseded.append((time.monotonic() + self.grace_s, directory, whole))

    def _sweep(self) -> None:
        """Delete what compactions superseded longer than the grace period ago."""
        now, kept = time.monotonic(), []
        for due, directory, whole in self.superseded:
            if due > now:
                kept.append((due, directory, whole))
            elif whole:
                self.fs.delete(directory)
            else:  # generation 0: the partition's own files, not its generations
                for status in self.fs.list(directory):
                    if status.isFile():
                        self.fs.fs.delete(status.getPath(), False)
        self.superseded = kept


def _this_batch_or_later(name: str, batch_id: int, owner: str) -> bool:
    """Whether a file is this query's batch ``batch_id`` or later: a failed attempt's, not committed."""
    if not name.startswith("batch-"):
        return False
    number, _, rest = name[len("batch-"):].removesuffix(".parquet").partition("-")
    return rest == owner and number.isdigit() and int(number) >= batch_id
