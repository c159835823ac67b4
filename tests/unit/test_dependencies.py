"""Every third-party package the project imports is declared in pyproject.toml, not only installed as
another package's dependency (which can drop it, or move its version, in any upgrade)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("clickstream", "ops", "plugins", "dags", "include", "simulators", "dashboard", "embedded", "bench",
           "tests")
# The project's own top-level packages (plugins/ is on Airflow's path, and on pytest's).
FIRST_PARTY = {*FOLDERS, "clickstream_airflow", "__future__"}


def _name(requirement: str) -> str:
    """Return a requirement's normalized distribution name (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=<>;~! ]", requirement, maxsplit=1)[0]).lower()


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    groups = project.get("dependency-groups", {}).values()
    return {_name(r) for r in [*project["project"]["dependencies"], *[r for g in groups for r in g]]}


def imported() -> dict[str, set[str]]:
    """Return {top-level module: files importing it} for every absolute import outside the project."""
    found: dict[str, set[str]] = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in FIRST_PARTY:
                        continue
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def undeclared(imports: dict[str, set[str]], wanted: set[str], owners) -> dict[str, list[str]]:
    """Return {module: the distributions providing it} for the imports no declared distribution provides."""
    missing = {}
    for module, files in imports.items():
        distributions = {_name(d) for d in owners.get(module, [])}
        assert distributions, f"{module} (imported by {sorted(files)[:3]}) is not installed"
        if not distributions & wanted:
            missing[module] = sorted(distributions)
    return missing


def test_every_imported_package_is_declared():
    missing = undeclared(imported(), declared(), packages_distributions())
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_an_import_provided_only_by_a_dependency_of_a_dependency_fails():
    owners = {"py4j": ["py4j"], "pyspark": ["pyspark"], "yaml": ["PyYAML"]}
    imports = {"py4j": {"a.py"}, "pyspark": {"a.py"}, "yaml": {"b.py"}}
    assert undeclared(imports, {"pyspark", "pyyaml"}, owners) == {"py4j": ["py4j"]}
    assert undeclared(imports, declared(), owners) == {}
