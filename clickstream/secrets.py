"""Secrets as the platform's processes receive them: a file named by ``NAME_FILE``, or ``NAME`` itself.

Production hands each container its secrets as files (compose secrets under /run/secrets, not environment
variables that ``docker inspect`` shows) and points ``NAME_FILE`` at them, the convention of the official
images (PostgreSQL's ``POSTGRES_PASSWORD_FILE``). Processes that cannot read the file — a Spark job's YARN
containers, on other hosts — get the value itself in ``NAME``, set by who submits them. The embedded
runtime sets ``NAME``.
"""

from __future__ import annotations

import os
from pathlib import Path


class SecretUnavailable(RuntimeError):
    """A secret's file is named but cannot be read."""


def read_secret(name: str) -> str:
    """Return the secret ``name``: the file ``NAME_FILE`` names (its content stripped), else ``NAME``."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretUnavailable(
                f"{name}_FILE names {path}, which cannot be read ({exc}); the production cluster's secrets "
                "are written by `python3 docker/generate-secrets.py`") from exc
    return os.environ.get(name, "")
