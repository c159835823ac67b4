"""Write the production cluster's secrets (docker/secrets/) and its .env, each value fresh and random.

Usage: python3 docker/generate-secrets.py [--force]

docker/secrets/<name> holds one secret each, handed by docker-compose.yml as a compose secret to the
services that use it (/run/secrets/<name>): passwords, Airflow's Fernet key (in Fernet's format), its
database URL and HiveServer2's connections (which embed a password). The directory is readable by its owner
only; the files inside it are readable by the containers' own users (postgres, airflow), which the
bind mount shows them as they are. .env gets .env.example's settings, each empty one filled (Kafka's cluster
id, in Kafka's format): nothing secret. Existing files are kept unless --force is given, so rerunning never
changes the passwords of a running cluster. Standard library only: runs before anything is installed.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HIVE_USER = "clickstream"   # docker-compose.yml's CLICKSTREAM_HIVE_USER

# The secrets drawn at random, by file name.
PASSWORDS = ("airflow_admin_password", "airflow_dashboard_password", "airflow_db_password",
             "airflow_api_secret_key", "airflow_jwt_secret", "hive_metastore_db_password", "hive_password",
             "live_db_password", "dashboard_password")


def _kafka_ids():
    """The repository's embedded/kafka_ids.py (standard library only), loaded by its path."""
    spec = importlib.util.spec_from_file_location("kafka_ids", ROOT / "embedded" / "kafka_ids.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setting_for(name: str) -> str:
    """Return a new value for an empty setting of .env.example."""
    if name == "KAFKA_CLUSTER_ID":
        return _kafka_ids().new_cluster_id()
    raise ValueError(f".env.example leaves {name} empty, and this script does not know how to fill it")


def render(example: str) -> str:
    """Return .env's text: example's lines, each empty assignment filled."""
    lines = []
    for line in example.splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and not value.strip():
            line = f"{name}={setting_for(name.strip())}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def hive_connections(password: str) -> str:
    """Return the Airflow connections that log in to HiveServer2 (the local-file secrets backend's JSON)."""
    common = {"host": "hiveserver2", "port": 10000, "schema": "clickstream", "login": HIVE_USER,
              "password": password}
    return json.dumps({
        "hive_cli_default": {"conn_type": "hive_cli", **common, "extra": {"use_beeline": True}},
        "hiveserver2_default": {"conn_type": "hiveserver2", **common, "extra": {"auth_mechanism": "CUSTOM"}},
    }, indent=2) + "\n"


def new_secrets() -> dict[str, str]:
    """Return every secret file's content, by name."""
    values = {name: secrets.token_urlsafe(32) for name in PASSWORDS}
    values["airflow_fernet_key"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
    values["airflow_db_url"] = ("postgresql+psycopg2://airflow:"
                                f"{values['airflow_db_password']}@airflow-db:5432/airflow")
    values["airflow_connections"] = hive_connections(values["hive_password"])
    return values


def write_secrets(directory: Path, force: bool) -> bool:
    """Write docker/secrets/ unless it holds secrets already (or force); return whether it was written."""
    if directory.is_dir() and any(directory.iterdir()) and not force:
        return False
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    for name, value in new_secrets().items():
        path = directory / (f"{name}.json" if name == "airflow_connections" else name)
        path.write_text(value if value.endswith("\n") else value + "\n")
        path.chmod(0o644)
    return True


def main(argv: list[str] | None = None) -> int:
    """Write docker/secrets/ and .env (mode 600), each unless it exists."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="replace existing secrets and .env")
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    parser.add_argument("--output", type=Path, default=ROOT / ".env")
    parser.add_argument("--secrets", type=Path, default=ROOT / "docker" / "secrets")
    args = parser.parse_args(argv)
    if write_secrets(args.secrets, args.force):
        print(f"wrote {args.secrets}/")
    else:
        print(f"{args.secrets} holds secrets; keeping them (--force replaces every one)", file=sys.stderr)
    if args.output.exists() and not args.force:
        print(f"{args.output} exists; keeping it (--force replaces it)", file=sys.stderr)
        return 0
    args.output.write_text(render(args.example.read_text()))
    args.output.chmod(0o600)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
