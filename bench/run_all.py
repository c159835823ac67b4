"""Run every benchmark in bench/, print its figures, and write docs/benchmarks.md: `make bench`."""

from __future__ import annotations

import subprocess
import sys
import time

BENCHMARKS = [
    ["bench.stack_startup"],
    ["bench.collector_throughput"],
    ["bench.streaming_throughput"],
    ["bench.freshness"],
    ["bench.simulated_users"],
    ["bench.daily_job"],
    ["bench.dashboard_pages"],
    ["bench.airflow_metadb"],
    ["bench.at_rest"],
]


# Not here: bench.soak runs for hours (`python -m bench.soak --hours 3`); its record joins the page.


def main() -> int:
    """Run each benchmark in its own process, one after the other (they share two cores)."""
    failed = 0
    for args in BENCHMARKS:
        print(f"== {' '.join(args)}", flush=True)
        start = time.monotonic()
        result = subprocess.run([sys.executable, "-m", *args])
        print(f"== {args[0]} exited {result.returncode} after {time.monotonic() - start:.0f}s\n",
              flush=True)
        failed += result.returncode != 0
    from bench.report import write_markdown

    print(f"wrote {write_markdown()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
