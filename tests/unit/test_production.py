"""The production cluster (docker-compose.yml), checked without a Docker engine.

No container runs here (this machine has no Docker engine): the tests read the compose
file, the Dockerfiles and the Hadoop/Hive configuration, validate the compose file against
the compose-spec schema, and build the spark-submit command line Airflow would run on the
cluster from the DAGs and the compose file's own connection and environment.
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from clickstream.settings import REPO_ROOT, get_settings
from embedded.environment import VENV_BIN

COMPOSE = REPO_ROOT / "docker-compose.yml"
CONFIG = REPO_ROOT / "docker" / "config"
# ${NAME:?message}: a value the compose file requires from .env.
SECRET = re.compile(r"\$\{(\w+):\?[^}]*\}")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def services() -> dict[str, dict]:
    return compose()["services"]


def long_running() -> dict[str, dict]:
    return {name: svc for name, svc in services().items() if svc.get("restart") != "no"}


def env_example() -> dict[str, str]:
    lines = (REPO_ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def environment(service: str) -> dict[str, str]:
    """A service's environment as .env.example sets it (a placeholder for each secret)."""
    example = env_example()
    env = services()[service]["environment"]
    return {k: SECRET.sub(lambda m: example.get(m.group(1)) or f"<{m.group(1)}>", str(v))
            for k, v in env.items()}


def hadoop_conf(name: str) -> dict[str, str]:
    root = ET.parse(CONFIG / name).getroot()
    return {p.findtext("name"): p.findtext("value") for p in root.iter("property")}


def exposes(service: str, port: int) -> bool:
    return str(port) in [str(p) for p in services()[service].get("expose", [])]


def test_compose_file_validates_against_the_compose_spec():
    result = subprocess.run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                             str(COMPOSE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_image_is_pinned_and_official():
    images = {name: svc["image"] for name, svc in services().items()}
    for dockerfile in (REPO_ROOT / "docker").rglob("Dockerfile"):
        for base in re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), re.MULTILINE):
            images[str(dockerfile.relative_to(REPO_ROOT))] = base
    for where, image in images.items():
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and re.match(r"\d", tag.lstrip("v")), f"{where}: {image}"
        assert "bitnami" not in image, f"{where}: {image}"
    # The services built here use the images their Dockerfiles build.
    built = {svc["image"] for svc in services().values() if "build" in svc}
    assert built == {"clickstream/airflow:0.1.0", "clickstream/nodemanager:0.1.0", "clickstream/hive:0.1.0"}


def test_every_long_running_service_has_a_healthcheck_and_a_memory_limit():
    for name, svc in long_running().items():
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert svc.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory"), name
    total = 0.0
    for svc in long_running().values():
        limit = svc["deploy"]["resources"]["limits"]["memory"]
        total += float(limit[:-1]) / (1024 if limit.endswith("m") else 1)
    assert total <= 20, f"memory limits add up to {total:.1f} GB: too much for a 24 GB machine"


def test_dependencies_wait_for_health_or_completion():
    for name, svc in services().items():
        for dependency, spec in svc.get("depends_on", {}).items():
            assert dependency in services(), f"{name} depends on unknown {dependency}"
            wanted = "service_completed_successfully" if services()[dependency].get("restart") == "no" \
                else "service_healthy"
            assert spec == {"condition": wanted}, f"{name} -> {dependency}: {spec}"


def test_state_lives_in_named_volumes():
    declared = set(compose()["volumes"])
    used = set()
    for svc in services().values():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("."):
                used.add(source)
    assert used == declared
    for name in ("kafka", "namenode", "datanode-1", "datanode-2", "metastore-db", "airflow-db"):
        assert any(not v.startswith(".") for v in services()[name]["volumes"]), name


def test_no_secret_in_the_compose_file_and_every_secret_in_env_example():
    text = COMPOSE.read_text()
    example = env_example()
    required = set(SECRET.findall(text))
    assert required <= set(example), required - set(example)
    for name in required:
        if "PASSWORD" in name or "SECRET" in name or "KEY" in name:
            assert example[name] == "", f"{name} must be generated, not defaulted"
    assert not re.search(r"PASSWORD:[ \t]*[\"']?\w", re.sub(SECRET, "", text)), "a literal password"


def test_generate_secrets_fills_every_secret(tmp_path):
    out = tmp_path / ".env"
    script = REPO_ROOT / "docker" / "generate-secrets.py"
    subprocess.run(["python3", str(script), "--output", str(out)], check=True, capture_output=True)
    env = dict(line.split("=", 1) for line in out.read_text().splitlines()
               if line and not line.startswith("#"))
    assert all(env.values()) and len(set(env.values())) == len(env)
    assert len(env["AIRFLOW_FERNET_KEY"]) == 44 and oct(out.stat().st_mode)[-3:] == "600"
    first = out.read_text()
    subprocess.run(["python3", str(script), "--output", str(out)], check=True, capture_output=True)
    assert out.read_text() == first  # an existing .env is kept


def test_airflow_connections_point_at_services_on_their_ports():
    env = environment("airflow-scheduler")
    connections = {k.removeprefix("AIRFLOW_CONN_").lower(): json.loads(v)
                   for k, v in env.items() if k.startswith("AIRFLOW_CONN_")}
    assert {"spark_default", "hive_cli_default", "hiveserver2_default", "kafka_default",
            "smtp_default"} <= set(connections)
    for conn_id, conn in connections.items():
        if conn_id == "spark_default":
            assert conn["host"] == "yarn"
            continue
        if conn_id == "kafka_default":
            host, port = conn["extra"]["bootstrap.servers"].split(":")
        else:
            host, port = conn["host"], conn["port"]
        assert host in services(), f"{conn_id}: no service {host}"
        assert exposes(host, int(port)), f"{conn_id}: {host} does not listen on {port}"
    # The platform's own settings agree with the connections.
    assert env["CLICKSTREAM_HIVE_HOST"] == connections["hiveserver2_default"]["host"]
    assert env["CLICKSTREAM_KAFKA_BOOTSTRAP"] == connections["kafka_default"]["extra"]["bootstrap.servers"]


def test_hdfs_replication_equals_the_number_of_datanodes():
    datanodes = [n for n, svc in services().items() if svc.get("command") == ["hdfs", "datanode"]]
    assert int(hadoop_conf("hadoop/hdfs-site.xml")["dfs.replication"]) == len(datanodes) == 2


def test_hadoop_and_hive_configs_agree_with_the_compose_file():
    core, hdfs = hadoop_conf("hadoop/core-site.xml"), hadoop_conf("hadoop/hdfs-site.xml")
    yarn, hive = hadoop_conf("hadoop/yarn-site.xml"), hadoop_conf("hive/hive-site.xml")
    fs = urlparse(core["fs.defaultFS"])
    assert fs.scheme == "hdfs" and exposes(fs.hostname, fs.port)
    assert hdfs["dfs.namenode.rpc-address"] == f"{fs.hostname}:{fs.port}"
    rm = yarn["yarn.resourcemanager.hostname"]
    for key in ("address", "scheduler.address", "resource-tracker.address", "webapp.address"):
        host, port = yarn[f"yarn.resourcemanager.{key}"].split(":")
        assert host == rm and exposes(rm, int(port)), key
    metastore = urlparse(hive["hive.metastore.uris"])
    assert exposes(metastore.hostname, metastore.port)
    jdbc = urlparse(hive["javax.jdo.option.ConnectionURL"].removeprefix("jdbc:"))
    assert exposes(jdbc.hostname, jdbc.port)
    user = services()[jdbc.hostname]["environment"]["POSTGRES_USER"]
    assert user == hive["javax.jdo.option.ConnectionUserName"]
    assert exposes("hiveserver2", int(hive["hive.server2.thrift.port"]))
    warehouse = urlparse(environment("airflow-scheduler")["CLICKSTREAM_WAREHOUSE_URI"])
    assert (warehouse.scheme, warehouse.hostname, warehouse.port) == (fs.scheme, fs.hostname, fs.port)
    assert hive["hive.metastore.warehouse.dir"].startswith(core["fs.defaultFS"])
    # Each NodeManager's offer fits in its container's memory limit.
    limit = services()["nodemanager"]["deploy"]["resources"]["limits"]["memory"]
    assert int(yarn["yarn.nodemanager.resource.memory-mb"]) < float(limit[:-1]) * 1024


def test_job_requirements_match_the_lock_file():
    lock = {p["name"]: p["version"] for p in __import__("tomllib").loads(
        (REPO_ROOT / "uv.lock").read_text())["package"] if "version" in p}
    for line in (REPO_ROOT / "docker" / "airflow" / "job-requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = re.sub(r"\[.*\]", "", line).split("==")
            assert lock[name] == version, f"{name}: {version} here, {lock[name]} in uv.lock"


@pytest.mark.parametrize("dag_id, task_id", [("clickstream_daily", "daily_job"),
                                             ("clickstream_streaming", "run_streaming_app")])
def test_spark_submit_on_the_cluster_builds_the_intended_command(dag_id, task_id, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    for name, value in environment("airflow-scheduler").items():
        if name.startswith(("AIRFLOW_CONN_", "CLICKSTREAM_")):
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / f"{dag_id}.py"))
        task = bag.dags[dag_id].get_task(task_id)
        hook = task._get_hook()
        command = hook._build_spark_submit_command(task.application)
    finally:
        get_settings.cache_clear()
    args = dict(zip(command, command[1:], strict=False))
    assert command[0] == "spark-submit"
    assert args["--master"] == "yarn" and args["--deploy-mode"] == "cluster" and args["--queue"] == "default"
    # Spark's Kafka connector comes from the image (the pinned pom), never from --packages at submit.
    assert "--packages" not in args
    assert args["--jars"] == "/opt/clickstream/jars/spark-kafka/*.jar"
    assert args["--archives"] == "/opt/clickstream/jobenv.tar.gz#environment"
    assert args["--py-files"] == "/opt/clickstream/clickstream.zip"
    confs = dict(c.split("=", 1) for c, flag in zip(command[1:], command, strict=False) if flag == "--conf")
    for side in ("spark.yarn.appMasterEnv", "spark.executorEnv"):
        assert confs[f"{side}.PYSPARK_PYTHON"] == "./environment/bin/python"
        assert confs[f"{side}.CLICKSTREAM_WAREHOUSE_URI"] == "hdfs://namenode:8020/warehouse"
    # Python's environment and the paths it names exist in the image that runs spark-submit.
    dockerfile = (REPO_ROOT / "docker" / "airflow" / "Dockerfile").read_text()
    assert "-o /opt/clickstream/jobenv.tar.gz" in dockerfile
    assert "/opt/clickstream/clickstream.zip" in dockerfile
    assert "COPY --from=jvm /jvm/lib/spark-kafka /opt/clickstream/jars/spark-kafka" in dockerfile
    assert task.application in command and Path(task.application).is_file()


def test_production_docs_cover_bring_up_scaling_operation_and_mapping():
    doc = (REPO_ROOT / "docs" / "production.md").read_text()
    for heading in ("## Bring-up", "## Scaling", "## Day-to-day operation", "## Production vs embedded"):
        assert heading in doc


def test_image_requirements_are_the_lock_file_exported(tmp_path):
    exported = tmp_path / "requirements.txt"
    subprocess.run([str(REPO_ROOT / ".tools" / "bin" / "uv"), "export", "--frozen", "--no-dev", "--no-hashes",
                    "--no-emit-project", "--no-header", "-q", "-o", str(exported)], check=True, cwd=REPO_ROOT)
    committed = (REPO_ROOT / "docker" / "airflow" / "requirements.txt").read_text()
    assert committed == exported.read_text(), "run `make docker-requirements`"


def test_production_runs_the_kafka_release_and_connector_the_embedded_runtime_runs():
    import xml.etree.ElementTree as ET

    def pom_property(module: str, name: str) -> str:
        ns = {"m": "http://maven.apache.org/POM/4.0.0"}
        root = ET.parse(REPO_ROOT / "jvm" / module / "pom.xml").getroot()
        return root.find(f"m:properties/m:{name}", ns).text

    kafka = pom_property("kafka", "kafka.version")
    assert {svc["image"] for name, svc in services().items() if name.startswith("kafka")} == {
        f"apache/kafka:{kafka}"}
    lock = {p["name"]: p["version"] for p in __import__("tomllib").loads(
        (REPO_ROOT / "uv.lock").read_text())["package"] if "version" in p}
    assert pom_property("spark-kafka", "spark.version") == lock["pyspark"]
