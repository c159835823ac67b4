"""Write .env for docker-compose.yml from .env.example, with a fresh random value for every secret.

Usage: python3 docker/generate-secrets.py [--force]

Every empty variable in .env.example is a secret and gets a new value (the Fernet
key in Fernet's format, Kafka's cluster id in Kafka's); the others are copied. An existing .env is kept unless
--force is given, so rerunning never changes the passwords of a running cluster.
Standard library only: runs before anything is installed.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _kafka_ids():
    """The repository's embedded/kafka_ids.py (standard library only), loaded by its path."""
    spec = importlib.util.spec_from_file_location("kafka_ids", ROOT / "embedded" / "kafka_ids.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def secret_for(name: str) -> str:
    """Return a new random value for the named secret."""
    if name == "AIRFLOW_FERNET_KEY":
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    if name == "KAFKA_CLUSTER_ID":
        return _kafka_ids().new_cluster_id()
    return secrets.token_urlsafe(32)


def render(example: str) -> str:
    """Return .env's text: example's lines, each empty assignment filled with a new secret."""
    lines = []
    for line in example.splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and not value.strip():
            line = f"{name}={secret_for(name.strip())}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write .env (mode 600) unless it exists."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="overwrite an existing .env")
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    parser.add_argument("--output", type=Path, default=ROOT / ".env")
    args = parser.parse_args(argv)
    if args.output.exists() and not args.force:
        print(f"{args.output} exists; keeping it (--force replaces every secret)", file=sys.stderr)
        return 0
    args.output.write_text(render(args.example.read_text()))
    args.output.chmod(0o600)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
