"""Production's Airflow login, run here: docker-compose.yml's Airflow settings (the FAB auth manager, every
sensitive option read by Airflow's `_CMD` from a secret file), its users created by airflow-init's own
script from their secret files, and the api-server answering the platform's REST client.

Only what Docker would change is changed: the secret files' directory (docker/generate-secrets.py writes them
into the test's), the database (the URL in the `airflow_db_url` secret names a SQLite file instead of the
`airflow-db` container) and the port. No Docker here.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import requests
import yaml

from clickstream.settings import REPO_ROOT
from embedded.environment import VENV_BIN
from embedded.ports import free_ports
from ops.airflow_api import AirflowApi, AirflowApiError
from tests.support.production_secrets import write_production_secrets
from tests.support.serving import serving


def _compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def _users_script(compose: dict, secrets) -> str:
    """airflow-init's loop that creates the users, with compose's `$$` unescaped and the secrets' path."""
    command = compose["services"]["airflow-init"]["command"][-1].replace("$$", "$")
    loop = re.search(r"^for user in .*?^done$", command, re.MULTILINE | re.DOTALL).group(0)
    return "set -e\n" + loop.replace("/run/secrets/", f"{secrets}/")


def _run(command: list[str], env: dict[str, str]) -> None:
    """Run a command of airflow-init's; on failure, fail with what it printed."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command[-1][-200:]} exited {done.returncode}:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def production_airflow(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-production")
    secrets = write_production_secrets(home / "secrets")
    (secrets / "airflow_db_url").write_text(f"sqlite:///{home / 'airflow.db'}\n")
    compose = _compose()
    (port,) = free_ports(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CLICKSTREAM_"))}
    env |= {k: v.replace("/run/secrets/", f"{secrets}/") for k, v in
            compose["services"]["airflow-api-server"]["environment"].items() if k.startswith("AIRFLOW__")}
    env |= {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__WORKERS": "1",
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    (home / "dags").mkdir()
    assert "FabAuthManager" in env["AIRFLOW__CORE__AUTH_MANAGER"]
    assert not [k for k in env if k.startswith("AIRFLOW__") and re.search("KEY$|SECRET$|_CONN$", k)]
    _run([str(VENV_BIN / "airflow"), "db", "migrate"], env)
    _run(["bash", "-c", _users_script(compose, secrets)], env)
    command = [str(VENV_BIN / "airflow"), "api-server", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with serving(command, f"{base}/api/v2/monitor/health", "production's Airflow api-server", env=env,
                 log=home / "api-server.log", timeout_s=180):
        yield base, {name: (secrets / f"airflow_{name}_password").read_text().strip()
                     for name in ("admin", "dashboard")}


def test_each_user_logs_in_with_its_secret_password_and_no_one_else(production_airflow):
    base, passwords = production_airflow
    # The dashboard's user reads (the Pipeline page's DAG runs) ...
    assert AirflowApi(base, "dashboard", passwords["dashboard"]).dags("clickstream") == []
    # ... and may not change anything: a Viewer.
    viewer = AirflowApi(base, "dashboard", passwords["dashboard"])
    with pytest.raises(AirflowApiError, match="403 Client Error: Forbidden"):
        viewer.call("POST", "variables", json={"key": "k", "value": "v"})
    admin = AirflowApi(base, "admin", passwords["admin"])
    assert admin.call("POST", "variables", json={"key": "k", "value": "v"})["key"] == "k"
    # A wrong password, another user's password, a user that does not exist, no login: refused.
    for user, password in (("admin", "admin"), ("admin", passwords["dashboard"]),
                           ("dashboard", passwords["admin"]), ("nobody", passwords["admin"])):
        with pytest.raises(AirflowApiError, match="refused the login"):
            AirflowApi(base, user, password).dags("clickstream")
    assert requests.get(f"{base}/api/v2/dags", timeout=10).status_code == 401
