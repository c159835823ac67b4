"""Production's secret files for tests that run production's configuration here: docker/generate-secrets.py's
own ``write_secrets`` (the script is loaded by its path: it is a script, not a module)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from clickstream.settings import REPO_ROOT


def write_production_secrets(directory: Path) -> Path:
    """Write every secret docker-compose.yml declares into ``directory``, as the script does; return it."""
    script = REPO_ROOT / "docker" / "generate-secrets.py"
    spec = importlib.util.spec_from_file_location("generate_secrets", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_secrets(directory, force=False)
    return directory
