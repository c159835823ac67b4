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
    assert built == {"clickstream/airflow:0.1.0", "clickstream/hadoop:0.1.0"}
    for dockerfile in (REPO_ROOT / "docker").rglob("Dockerfile"):
        text = dockerfile.read_text()
        # JVM artifacts come from the pinned poms (jvm/), never downloaded unchecked at build time.
        assert not re.search(r"^(ADD|RUN .*(curl|wget)).*https?://", text, re.MULTILINE), dockerfile
        # Debian's default JDK, at a path without the architecture in it (amd64 and arm64 alike).
        assert "java-17-openjdk-amd64" not in text, dockerfile
        assert "ENV JAVA_HOME=/usr/lib/jvm/default-java" in text, dockerfile


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


# What a user needs from outside the compose network; everything else stays on it (issue 40).
PUBLISHED = {"airflow-api-server", "dashboard", "site-shop", "site-news", "site-saas"}


def test_only_the_ui_the_dashboard_and_the_collectors_are_published_on_the_loopback_by_default():
    bind = "${CLICKSTREAM_BIND_ADDRESS:-127.0.0.1}"
    assert {name for name, svc in services().items() if svc.get("ports")} == PUBLISHED
    for name in PUBLISHED:
        for mapping in services()[name]["ports"]:
            host, host_port, container_port = str(mapping).rsplit(":", 2)
            assert host == bind and host_port == container_port, f"{name}: {mapping}"
    assert env_example()["CLICKSTREAM_BIND_ADDRESS"] == "127.0.0.1"
    # The operator's override for the admin UIs: existing services, the loopback only.
    admin = yaml.safe_load((REPO_ROOT / "docker" / "compose.admin-ports.yml").read_text())["services"]
    assert set(admin) <= set(services()) - PUBLISHED
    assert all(str(p).startswith("127.0.0.1:") for svc in admin.values() for p in svc["ports"])


SECRETS_DIR = "./docker/secrets/"
RUN_SECRETS = re.compile(r"/run/secrets/(\w+)\b(?!\$)")  # not a shell-built name: airflow_${name}_…
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|FERNET|JWT|TOKEN|_KEY\b|_KEY_|CONN\b")


def generate(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Run docker/generate-secrets.py into tmp_path; return .env's settings and the secrets' directory."""
    out, secrets = tmp_path / ".env", tmp_path / "secrets"
    subprocess.run(["python3", str(REPO_ROOT / "docker" / "generate-secrets.py"), "--output", str(out),
                    "--secrets", str(secrets)], check=True, capture_output=True)
    lines = out.read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return env, secrets


def secrets_used(svc: dict) -> set[str]:
    """The secrets a service's environment, command and healthcheck name (/run/secrets/<name>)."""
    return set(RUN_SECRETS.findall(json.dumps([svc.get("environment"), svc.get("command")])))


def test_every_secret_is_a_file_handed_only_to_the_services_that_use_it():
    declared = compose()["secrets"]
    assert all(s["file"] in (f"{SECRETS_DIR}{name}", f"{SECRETS_DIR}{name}.json")
               for name, s in declared.items()), declared
    for name, svc in services().items():
        given = {s if isinstance(s, str) else s["source"] for s in svc.get("secrets", [])}
        assert given <= set(declared), (name, given - set(declared))
        used = secrets_used(svc)
        if name == "airflow-init":  # its users' passwords: /run/secrets/airflow_${name}_password
            used |= {"airflow_admin_password", "airflow_dashboard_password"}
        # Airflow's services read theirs by Airflow's own _CMD options (the shared environment).
        assert given == used, f"{name}: given {sorted(given)}, uses {sorted(used)}"
        # No secret in an environment variable: only the files' paths and Airflow's commands that read them.
        for var, value in (svc.get("environment") or {}).items():
            # (Airflow's secrets backend and its arguments name where secrets are, not a secret.)
            if SECRET_WORDS.search(var) and not var.endswith(("_FILE", "_CMD", "SECRETS_BACKEND",
                                                              "SECRETS_BACKEND_KWARGS")):
                raise AssertionError(f"{name}: {var} holds a secret ({value!r}); hand it as a file")
    text = COMPOSE.read_text()
    assert not [n for n in SECRET.findall(text) if SECRET_WORDS.search(n)], "a secret from .env"
    assert not re.search(r"PASSWORD:[ \t]*[\"']?\w", text), "a literal password"
    assert SECRETS_DIR.strip("./") + "/" in (REPO_ROOT / ".gitignore").read_text()


def test_generate_secrets_writes_every_secret_the_compose_file_declares(tmp_path):
    env, secrets = generate(tmp_path)
    assert set(env) == set(env_example()) and all(env.values())  # .env: settings only, every one filled
    assert not [name for name in env if SECRET_WORDS.search(name)]
    written = {p.name.removesuffix(".json"): p.read_text().strip() for p in secrets.iterdir()}
    assert set(written) == set(compose()["secrets"])
    assert all(written.values()) and len(set(written.values())) == len(written)
    assert len(written["airflow_fernet_key"]) == 44
    assert written["airflow_db_url"].endswith(f":{written['airflow_db_password']}@airflow-db:5432/airflow")
    hive = {c["password"] for c in json.loads(written["airflow_connections"]).values()}
    assert hive == {written["hive_password"]}
    # The directory is its owner's alone; the files are readable by the containers' users (a bind mount).
    assert oct(secrets.stat().st_mode)[-3:] == "700" and oct((tmp_path / ".env").stat().st_mode)[-3:] == "600"
    assert {oct(p.stat().st_mode)[-3:] for p in secrets.iterdir()} == {"644"}
    first = (tmp_path / ".env").read_text(), written
    env_again, _ = generate(tmp_path)
    again = {p.name.removesuffix(".json"): p.read_text().strip() for p in secrets.iterdir()}
    assert ((tmp_path / ".env").read_text(), again) == first  # existing secrets are kept


def test_every_door_asks_for_a_login():
    """HiveServer2 (CUSTOM: a user, its secret password), Airflow (FAB, users from secrets), the dashboard."""
    hive = hadoop_conf("hive/hive-site.xml")
    assert hive["hive.server2.authentication"] == "CUSTOM"
    assert hive["hive.server2.custom.authentication.class"] == "io.clickstream.hive.PasswordFileAuthenticator"
    source = REPO_ROOT / "jvm" / "hive-auth" / "src" / "main" / "java" / "io" / "clickstream" / "hive"
    assert (source / "PasswordFileAuthenticator.java").is_file()
    assert "COPY --from=jvm /jvm/lib/hive-auth /opt/clickstream/jars/hive-auth" in dockerfile("airflow")
    assert "/opt/clickstream/jars/hive-auth/*" in services()["hiveserver2"]["command"][
        services()["hiveserver2"]["command"].index("--driver-class-path") + 1]
    # Every service that opens a HiveServer2 session gives the user and the password file.
    for name in ("hiveserver2", "hive-init", "airflow-scheduler", "dashboard"):
        env = services()[name]["environment"]
        assert env["CLICKSTREAM_HIVE_USER"] == "clickstream", name
        assert env["CLICKSTREAM_HIVE_PASSWORD_FILE"] == "/run/secrets/hive_password", name
    # Airflow: FAB's auth manager (users in its database), no static user list.
    airflow = services()["airflow-api-server"]["environment"]
    assert airflow["AIRFLOW__CORE__AUTH_MANAGER"] == \
        "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    assert "SIMPLE_AUTH_MANAGER" not in COMPOSE.read_text()
    init = services()["airflow-init"]["command"][-1].replace("$$", "$")  # compose's escape of a shell $
    assert "airflow users create" in init and "/run/secrets/airflow_${name}_password" in init
    image = (REPO_ROOT / "docker" / "airflow" / "requirements.txt").read_text()
    assert re.search(r"^apache-airflow-providers-fab==", image, re.MULTILINE)
    # The dashboard asks for its password; it reads Airflow as the read-only user.
    dashboard = services()["dashboard"]["environment"]
    assert dashboard["CLICKSTREAM_DASHBOARD_PASSWORD_FILE"] == "/run/secrets/dashboard_password"
    assert dashboard["CLICKSTREAM_AIRFLOW_API_USER"] == "dashboard" and "dashboard:Viewer" in init


def test_the_tasks_find_hiveserver2s_connections_in_their_secret_file(tmp_path, monkeypatch):
    """The scheduler's task processes (worker side) read the connections from the local-file backend."""
    from airflow.sdk.configuration import clear_secrets_backends_cache, initialize_secrets_backends
    from airflow.sdk.execution_time.secrets import DEFAULT_SECRETS_SEARCH_PATH_WORKERS

    _, secrets = generate(tmp_path)
    env = services()["airflow-scheduler"]["environment"]
    for name in ("AIRFLOW__WORKERS__SECRETS_BACKEND", "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS"):
        monkeypatch.setenv(name, env[name].replace("/run/secrets/", f"{secrets}/"))
    clear_secrets_backends_cache()
    try:
        backend = initialize_secrets_backends(DEFAULT_SECRETS_SEARCH_PATH_WORKERS)[0]
        conns = {c: backend.get_connection(c) for c in ("hiveserver2_default", "hive_cli_default")}
    finally:
        clear_secrets_backends_cache()
    password = (secrets / "hive_password").read_text().strip()
    assert {(c.host, c.port, c.login, c.password) for c in conns.values()} == {
        ("hiveserver2", 10000, "clickstream", password)}
    assert conns["hiveserver2_default"].extra_dejson["auth_mechanism"] == "CUSTOM"
    assert conns["hive_cli_default"].extra_dejson["use_beeline"] is True


def test_airflow_connections_point_at_services_on_their_ports(tmp_path):
    env = environment("airflow-scheduler")
    connections = {k.removeprefix("AIRFLOW_CONN_").lower(): json.loads(v)
                   for k, v in env.items() if k.startswith("AIRFLOW_CONN_")}
    connections |= json.loads((generate(tmp_path)[1] / "airflow_connections.json").read_text())
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
    jdbc = urlparse(hive["javax.jdo.option.ConnectionURL"].removeprefix("jdbc:"))
    assert exposes(jdbc.hostname, jdbc.port)
    db_env = services()[jdbc.hostname]["environment"]
    assert (db_env["POSTGRES_USER"], db_env["POSTGRES_DB"]) == (
        hive["javax.jdo.option.ConnectionUserName"], jdbc.path.lstrip("/"))
    # The password: Hadoop's configuration expands ${env.NAME} from HiveServer2's environment, where
    # secrets-env puts it from the secret file the database's server was given.
    password = re.fullmatch(r"\$\{env\.(\w+)\}", hive["javax.jdo.option.ConnectionPassword"]).group(1)
    hs2 = services()["hiveserver2"]
    assert hs2["environment"][f"{password}_FILE"] == db_env["POSTGRES_PASSWORD_FILE"]
    assert hs2["command"][:3] == ["secrets-env", password, "--"]
    assert "COPY docker/airflow/secrets-env.sh /usr/local/bin/secrets-env" in dockerfile("airflow")
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
def test_spark_submit_on_the_cluster_builds_the_intended_command(dag_id, task_id, monkeypatch, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    _, secrets = generate(tmp_path)
    for name, value in environment("airflow-scheduler").items():
        if name.startswith(("AIRFLOW_CONN_", "CLICKSTREAM_")):
            monkeypatch.setenv(name, value.replace("/run/secrets/", f"{secrets}/"))
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
    assert args["--archives"] == "hdfs://namenode:8020/apps/clickstream/jobenv.tar.gz#environment"
    assert args["--py-files"] == "/opt/clickstream/clickstream.zip"
    confs = dict(c.split("=", 1) for c, flag in zip(command[1:], command, strict=False) if flag == "--conf")
    for side in ("spark.yarn.appMasterEnv", "spark.executorEnv"):
        assert confs[f"{side}.PYSPARK_PYTHON"] == "./environment/bin/python"
        assert confs[f"{side}.CLICKSTREAM_WAREHOUSE_URI"] == "hdfs://namenode:8020/warehouse"
    # The driver logs in to HiveServer2 and writes the Live page's store: it gets both passwords by value (its
    # container cannot read the scheduler's files); the executors get neither.
    for name, secret in (("CLICKSTREAM_HIVE_PASSWORD", "hive_password"),
                         ("CLICKSTREAM_LIVE_DB_PASSWORD", "live_db_password")):
        assert confs[f"spark.yarn.appMasterEnv.{name}"] == (secrets / secret).read_text().strip()
        assert f"spark.executorEnv.{name}" not in confs
    # Python's environment and the paths it names exist in the image that runs spark-submit; airflow-init
    # puts the packed environment and Spark's jars where the submit and spark-defaults.conf name them.
    dockerfile = (REPO_ROOT / "docker" / "airflow" / "Dockerfile").read_text()
    assert "-o /opt/clickstream/jobenv.tar.gz" in dockerfile
    init = " ".join(services()["airflow-init"]["command"])
    assert "hdfs dfs -put -f /opt/clickstream/jobenv.tar.gz /apps/clickstream/jobenv.tar.gz" in init
    lines = (CONFIG / "spark" / "spark-defaults.conf").read_text().splitlines()
    jars = dict(line.split(None, 1) for line in lines if line.strip() and not line.startswith("#"))[
        "spark.yarn.jars"]
    assert jars == "hdfs://namenode:8020/apps/spark/jars/*.jar" and '"$$jars"/*.jar /apps/spark/jars/' in init
    assert "/opt/clickstream/clickstream.zip" in dockerfile
    assert "COPY --from=jvm /jvm/lib/spark-kafka /opt/clickstream/jars/spark-kafka" in dockerfile
    assert task.application in command and Path(task.application).is_file()
    # An application YARN keeps queued fails the task with YARN's reason after ten minutes, not hours later.
    from clickstream_airflow.spark import BoundedSparkSubmitOperator

    assert isinstance(task, BoundedSparkSubmitOperator) and task.max_queued_minutes == 10


def test_production_docs_cover_bring_up_scaling_operation_and_mapping():
    doc = (REPO_ROOT / "docs" / "production.md").read_text()
    for heading in ("## Bring-up", "## Scaling", "## Exposure", "## Security", "## Day-to-day operation",
                    "## Production vs embedded"):
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


# --- The defects a read of the compose file found (issue 22), one test per class -------------------------


def dockerfile(name: str) -> str:
    return (REPO_ROOT / "docker" / name / "Dockerfile").read_text()


def final_base(text: str) -> str:
    return re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)[-1]


def hadoop_services() -> dict[str, dict]:
    return {n: svc for n, svc in services().items() if svc["image"] == "clickstream/hadoop:0.1.0"}


def mebibytes(size: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([mMgG])", size.strip()).groups()
    return float(number) * (1024 if unit.lower() == "g" else 1)


def test_every_hadoop_daemon_runs_the_hadoop_image_of_the_pinned_pom():
    """One image (docker/hadoop) for HDFS and YARN, of the Hadoop release the embedded cluster mode runs."""
    assert set(hadoop_services()) == {"namenode", "datanode-1", "datanode-2", "hdfs-init", "resourcemanager",
                                      "nodemanager"}
    text = dockerfile("hadoop")
    assert "-pl hadoop -am package" in text and "COPY --from=jvm /jvm/lib/hadoop /opt/hadoop/lib" in text
    # Hadoop 3.5 (HADOOP-19216: 3.4's NodeManager fails on Java 17), the release pyspark bundles.
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    pom = ET.parse(REPO_ROOT / "jvm" / "hadoop" / "pom.xml").getroot()
    version = pom.find("m:properties/m:hadoop.version", ns).text
    from embedded.spark_dist import spark_home

    assert (spark_home() / "jars" / f"hadoop-client-api-{version}.jar").is_file(), version
    assert version.split(".")[:2] >= ["3", "5"]
    # The NodeManager's containers run the jobs' venv, packed in the application image: same base, so its
    # interpreter (/usr/python/bin/python3.11) is there.
    assert final_base(text) == final_base(dockerfile("airflow"))


def test_the_hadoop_launcher_runs_the_classes_the_embedded_cluster_runs():
    """docker/hadoop/hadoop.sh (`hdfs`, `yarn` in the images) and embedded/hadoop.py: one table of classes."""
    from embedded import hadoop

    script = (REPO_ROOT / "docker" / "hadoop" / "hadoop.sh").read_text()
    table = {}
    for patterns, cls in re.findall(r'^\s*((?:"[a-z]+ [a-z]+"\s*\|?\s*)+)\)\s*(?:\n\s*)?class=(\S+?)[;\s]',
                                    script, re.MULTILINE):
        for pattern in re.findall(r'"([a-z]+ [a-z]+)"', patterns):
            table[pattern] = cls
    expected = {f"hdfs {r}": c for r, c in hadoop.MAIN_CLASS.items() if r in ("namenode", "datanode")}
    expected |= {f"yarn {r}": c for r, c in hadoop.MAIN_CLASS.items()
                 if r in ("resourcemanager", "nodemanager")}
    expected |= {f"{cmd} {sub}": hadoop.TOOL_CLASS[sub] for cmd, subs in hadoop.TOOLS.items() for sub in subs}
    assert table == expected
    # ApplicationCLI is told which listing, as embedded/hadoop.py tells it.
    assert 'first=("$sub")' in script
    assert re.search(r'"yarn application" \| "yarn applicationattempt" \| "yarn container"', script)
    assert set(hadoop.APPLICATION_CLI) == {"application", "applicationattempt", "container"}
    packages = re.search(r"for pkg in (.*?); do", script, re.DOTALL).group(1).replace("\\\n", " ").split()
    assert [f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in packages] == hadoop.JAVA_OPENS
    # Installed as `hdfs`, with `yarn` beside it, in both images that run Hadoop's commands.
    for image in ("hadoop", "airflow"):
        assert "COPY docker/hadoop/hadoop.sh /opt/hadoop/bin/hdfs" in dockerfile(image)
        assert "ln -s hdfs /opt/hadoop/bin/yarn" in dockerfile(image)


def test_the_namenode_formats_its_volume_on_the_first_start_only():
    namenode = services()["namenode"]
    command = " ".join(namenode["command"])
    name_dir = urlparse(hadoop_conf("hadoop/hdfs-site.xml")["dfs.namenode.name.dir"]).path
    assert f"{name_dir}:" in "".join(v for v in namenode["volumes"] if v.startswith("namenode-data:")) or \
        f"namenode-data:{name_dir}" in namenode["volumes"]
    # Formats when the volume holds no formatted image (a new, empty volume exists too), then runs.
    assert f"test -f {name_dir}/current/VERSION || hdfs namenode -format -nonInteractive" in command
    assert command.endswith("exec hdfs namenode")


def test_named_volumes_are_writable_by_the_user_their_image_runs_as():
    """A new named volume takes the owner of the image's directory it mounts on; root's is not writable."""
    hadoop = dockerfile("hadoop")
    assert re.search(r"^USER hadoop$", hadoop, re.MULTILINE)
    for name, svc in hadoop_services().items():
        for volume in svc.get("volumes", []):
            source, target = volume.split(":")[:2]
            if not source.startswith("."):
                assert f"mkdir -p {target}" in hadoop or f" {target} " in hadoop, (name, target)
                assert "chown -R hadoop:0 /data" in hadoop and target.startswith("/data/"), (name, target)


def test_services_healthchecked_on_localhost_listen_on_every_interface():
    hdfs, yarn = hadoop_conf("hadoop/hdfs-site.xml"), hadoop_conf("hadoop/yarn-site.xml")
    hive = hadoop_conf("hive/hive-site.xml")
    assert hdfs["dfs.namenode.rpc-bind-host"] == hdfs["dfs.namenode.http-bind-host"] == "0.0.0.0"
    assert yarn["yarn.resourcemanager.bind-host"] == "0.0.0.0"
    assert hive["hive.server2.thrift.bind.host"] == "0.0.0.0"
    port = hdfs["dfs.namenode.http-address"].split(":")[1]
    assert f"localhost:{port}" in str(services()["namenode"]["healthcheck"]["test"])
    port = yarn["yarn.resourcemanager.webapp.address"].split(":")[1]
    assert f"localhost:{port}" in str(services()["resourcemanager"]["healthcheck"]["test"])


def test_hiveserver2_is_the_engine_the_embedded_runtime_runs():
    """One engine and one dialect in both runtimes: the HQL CI runs is the HQL production runs."""
    from clickstream.settings import load_settings
    from embedded.services import _hiveserver2_cmd

    production = services()["hiveserver2"]["command"]
    production = production[production.index("--") + 1:]  # after secrets-env NAME --
    embedded = _hiveserver2_cmd(load_settings())
    assert Path(embedded[0]).name == production[0] == "spark-submit"

    def options(command: list[str]) -> dict[str, str]:
        pairs = dict(zip(command, command[1:], strict=False))
        confs = dict(c.split("=", 1) for c, flag in zip(command[1:], command, strict=False)
                     if flag == "--conf")
        return {"class": pairs["--class"], "name": pairs["--name"], "app": command[-1],
                **{k: v for k, v in confs.items() if k != "spark.sql.warehouse.dir"
                   and not k.startswith("spark.driver.extraJavaOptions")}}

    assert options(production) == options(embedded)
    # The metastore in PostgreSQL, its schema created at the first start (no Hive image, no IS_RESUME).
    text = COMPOSE.read_text()
    assert "IS_RESUME" not in text and "metastore:" not in re.sub(r"metastore-db", "", text)
    hive = hadoop_conf("hive/hive-site.xml")
    assert "hive.metastore.uris" not in hive
    assert hive["datanucleus.schema.autoCreateTables"] == "true"
    assert hive["datanucleus.schema.autoCreateConstraints"] == "false"  # autoCreateAll deadlocked
    assert hive["datanucleus.schema.autoCreateAll"] == "false"
    pairs = dict(zip(production, production[1:], strict=False))
    assert pairs["--driver-class-path"] == \
        "/opt/clickstream/hive-conf:/opt/clickstream/jars/metastore/*:/opt/clickstream/jars/hive-auth/*"
    assert "./docker/config/hive:/opt/clickstream/hive-conf:ro" in services()["hiveserver2"]["volumes"]
    assert "COPY --from=jvm /jvm/lib/metastore /opt/clickstream/jars/metastore" in dockerfile("airflow")


def test_the_platform_database_is_created_before_its_users_start():
    init = services()["hive-init"]
    assert init["command"][:4] == ["python", "-m", "clickstream.hive", "create-database"]
    assert init["depends_on"] == {"hiveserver2": {"condition": "service_healthy"}}
    for user in ("airflow-scheduler", "dashboard"):
        assert services()[user]["depends_on"]["hive-init"] == {"condition": "service_completed_successfully"}


def test_every_jvm_heap_fits_its_container_limit():
    """Each JVM's heap is set, and leaves at least 256 MB of its container's limit to the JVM itself."""
    heaps = {}
    for name, svc in long_running().items():
        env = svc.get("environment", {})
        command = svc.get("command", [])
        if "KAFKA_HEAP_OPTS" in env:
            heaps[name] = re.search(r"-Xmx(\S+)", env["KAFKA_HEAP_OPTS"]).group(1)
        elif svc["image"] == "clickstream/hadoop:0.1.0":
            heaps[name] = env["HADOOP_HEAPSIZE_MAX"]
        elif "spark-submit" in command:
            heaps[name] = command[command.index("--driver-memory") + 1]
        elif "HistoryServer" in " ".join(command):
            heaps[name] = env["SPARK_DAEMON_MEMORY"]
    jvms = {n for n, svc in long_running().items()
            if svc["image"].startswith(("apache/kafka", "clickstream/hadoop"))
            or "spark" in " ".join(svc.get("command", []))}
    assert set(heaps) == jvms and {"kafka", "namenode", "hiveserver2", "historyserver"} <= jvms
    for name, heap in heaps.items():
        limit = services()[name]["deploy"]["resources"]["limits"]["memory"]
        assert mebibytes(heap) + 256 <= mebibytes(limit), f"{name}: heap {heap} in {limit}"


def test_the_history_server_reads_where_applications_write_their_event_logs():
    lines = (CONFIG / "spark" / "spark-defaults.conf").read_text().splitlines()
    conf = dict(line.split(None, 1) for line in lines if line.strip() and not line.startswith("#"))
    assert conf["spark.eventLog.enabled"] == "true"
    opts = services()["historyserver"]["environment"]["SPARK_HISTORY_OPTS"]
    assert f"-Dspark.history.fs.logDirectory={conf['spark.eventLog.dir']}" in opts
    assert urlparse(conf["spark.eventLog.dir"]).path in " ".join(services()["hdfs-init"]["command"])
    # The embedded cluster mode has no history server, and writes none.
    from embedded.hadoop import spark_defaults

    embedded = spark_defaults()
    assert embedded["spark.eventLog.enabled"] == "false" and "spark.eventLog.dir" not in embedded


def test_kafka_formats_its_storage_with_a_generated_cluster_id(tmp_path):
    import base64

    kafka = services()["kafka"]["environment"]
    assert SECRET.fullmatch(kafka["CLUSTER_ID"]).group(1) == "KAFKA_CLUSTER_ID"
    ids = [generate(tmp_path)[0]["KAFKA_CLUSTER_ID"]]
    # Kafka's Uuid format: 16 bytes, URL-safe base64 without padding.
    assert len(ids) == 1 and len(ids[0]) == 22
    assert len(base64.urlsafe_b64decode(ids[0] + "==")) == 16


def test_the_build_context_leaves_local_state_out():
    ignored = {line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv", ".tools", ".git", ".env", "data", "build", "jvm/lib", "docker/secrets"} <= ignored
    # What the images copy from the context is not ignored.
    for dockerfile_text in (dockerfile("airflow"), dockerfile("hadoop")):
        for source in re.findall(r"^COPY (?:--chown=\S+ )?(?!--from)(\S+) ", dockerfile_text, re.MULTILINE):
            assert source.split("/")[0] not in ignored and source not in ignored, source
