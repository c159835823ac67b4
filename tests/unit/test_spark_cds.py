"""The JVM class archive that `make install` builds (embedded/cds.py) fits this Spark and JDK,
and every spark-submit of the stack maps it."""

from __future__ import annotations

import shutil
import subprocess

from clickstream.settings import get_settings
from embedded.cds import ARCHIVE
from embedded.environment import spark_env, stack_env
from embedded.spark_dist import spark_home


def _submit_version(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(spark_home() / "bin" / "spark-submit"), *args, "--version"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_spark_submit_maps_the_archive_and_a_stale_one_is_refused(tmp_path):
    env = stack_env(get_settings())
    assert f"-XX:SharedArchiveFile={ARCHIVE}" in env["SPARK_SUBMIT_OPTS"]
    assert spark_env(env)["SPARK_SUBMIT_OPTS"] == env["SPARK_SUBMIT_OPTS"]  # added once
    # -Xshare:on turns "cannot map the archive" from a warning into a failed start.
    env["SPARK_SUBMIT_OPTS"] += " -Xshare:on"
    mapped = _submit_version(env)
    assert mapped.returncode == 0, mapped.stdout + mapped.stderr
    # A classpath the archive was not made for (as after a Spark upgrade) cannot map it: the check
    # above can fail. Without -Xshare:on the JVM would start anyway, warning on stderr.
    jar = shutil.copy(next((spark_home() / "jars").glob("commons-io-*.jar")), tmp_path / "extra.jar")
    stale = _submit_version(env, "--driver-class-path", str(jar))
    assert stale.returncode != 0 and "Unable to use shared archive" in stale.stdout + stale.stderr
