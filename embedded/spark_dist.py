"""The Spark distribution inside the pyspark wheel, and the variables spark-submit needs to run it here."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path


def spark_home() -> Path:
    """Return the Spark distribution shipped inside the pyspark wheel."""
    import pyspark

    return Path(pyspark.__file__).parent


def spark_base_env(current: Mapping[str, str]) -> dict[str, str]:
    """The wheel's Spark, this virtualenv's Python on both sides, and loopback (unless already chosen)."""
    return {"SPARK_HOME": str(spark_home()), "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": current.get("SPARK_LOCAL_IP", "127.0.0.1")}  # fmt: skip
