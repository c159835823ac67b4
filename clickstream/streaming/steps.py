"""The timing of a micro-batch's steps for its log line: wall time, the driver JVM's CPU, classes compiled."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pyspark.sql import SparkSession

from clickstream.streaming.session import jvm_class
from clickstream.streaming.side_by_side import SideBySide


def compilations(spark: SparkSession) -> int:
    """Return how many code-generated classes Spark has compiled in this JVM (driver and local executors)."""
    metrics = jvm_class(spark, "org.apache.spark.metrics.source.CodegenMetrics")
    return metrics.METRIC_COMPILATION_TIME().getCount()


def jvm_cpu_s(pid: int) -> float | None:
    """Return the CPU seconds a JVM has used, all its threads (a local master's executors included), from
    Linux's /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime


class Steps:
    """The wall time and the driver JVM's CPU time of a batch's steps, and the classes it compiled, for its
    log line: "read 950 ms (CPU 640), …; 6 classes compiled".

    A batch whose plans are those of the batch before it compiles nothing: Spark keeps generated code by
    its text. A literal that changes every batch (a batch id, a time) changes the text of its stage, and
    compiling it again costs tens of milliseconds of CPU each time.
    """

    def __init__(self, spark: SparkSession, pid: int):
        self.spark, self.pid = spark, pid
        self.compiled = compilations(spark)
        self.last, self.cpu = time.monotonic(), jvm_cpu_s(self.pid)
        self.took: list[str] = []

    def done(self, step: str) -> None:
        now, cpu = time.monotonic(), jvm_cpu_s(self.pid)
        used = f" (CPU {(cpu - self.cpu) * 1000:.0f})" if cpu is not None else ""
        self.took.append(f"{step} {(now - self.last) * 1000:.0f} ms{used}")
        self.last, self.cpu = now, cpu

    def side_by_side(self, steps: SideBySide) -> None:
        """Run steps side by side (one step of the log line, each one's wall time in brackets)."""
        took = steps.run()
        if took:
            self.done("outputs")
            self.took[-1] += f" [{', '.join(f'{name} {ms:.0f}' for name, ms in took.items())}]"

    def __str__(self) -> str:
        return f"{', '.join(self.took)}; {compilations(self.spark) - self.compiled} classes compiled"
