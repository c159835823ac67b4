"""The folders' import rules (docs/architecture.md, "Layers"), checked on the source's syntax trees."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# folder -> top-level packages its code may not import
FORBIDDEN = {
    "clickstream": {"airflow", "clickstream_airflow", "simulators", "embedded", "dashboard", "bench",
                    "tests", "ops"},
    "include/spark_jobs": {"airflow", "clickstream_airflow", "simulators", "embedded", "dashboard", "bench",
                           "tests", "ops"},
    # The clients of the platform's services: not shipped to Spark, used by the tools around it.
    "ops": {"airflow", "clickstream_airflow", "simulators", "embedded", "dashboard", "bench", "tests"},
    "plugins": {"simulators", "embedded", "dashboard", "bench", "tests"},
    "dags": {"simulators", "embedded", "dashboard", "bench", "tests", "confluent_kafka", "pyspark"},
    "simulators": {"airflow", "clickstream_airflow", "embedded", "dashboard", "bench", "tests"},
    "dashboard": {"airflow", "clickstream_airflow", "simulators", "embedded", "bench", "tests"},
    "embedded": {"airflow", "clickstream_airflow", "dashboard", "bench", "tests"},
}
# Inside clickstream, one way: contracts and settings -> transforms -> jobs. The jobs (what a Spark
# main runs) are imported by nothing in the library.
JOBS = {"clickstream.batch.jobs", "clickstream.streaming.app"}
BASE = {"clickstream.settings", "clickstream.contracts", "clickstream.catalog", "clickstream.topics",
        "clickstream.hive", "clickstream.funnels"}
SQL = re.compile(r"\b(SELECT|INSERT|CREATE|ALTER|DROP|REFRESH|MSCK)\b")


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imports(path: Path) -> list[str]:
    """Every module a file imports, at any depth (top of file or inside functions)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_each_folder_imports_only_what_its_layer_may(folder):
    files = python_files(folder)
    assert files, folder
    broken = [(str(p.relative_to(ROOT)), name) for p in files for name in imports(p)
              if name.split(".")[0] in FORBIDDEN[folder]]
    assert broken == []


def test_the_library_is_layered_one_way():
    broken = []
    for path in python_files("clickstream"):
        module = module_of(path)
        for name in imports(path):
            if name in JOBS and module != name:
                broken.append((module, name, "imports a job"))
            if module in BASE and name.startswith(("clickstream.batch", "clickstream.streaming")):
                broken.append((module, name, "a base module imports a transform"))
    assert broken == []


def test_no_code_changes_sys_path():
    changed = []
    for folder in ("clickstream", "ops", "plugins", "dags", "include", "simulators", "dashboard", "embedded",
                   "bench", "tests"):
        for path in python_files(folder):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Attribute) and node.attr in ("insert", "append", "extend")
                        and isinstance(node.value, ast.Attribute) and node.value.attr == "path"
                        and isinstance(node.value.value, ast.Name) and node.value.value.id == "sys"):
                    changed.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert changed == []


def test_dag_files_are_wiring():
    """No SQL in the DAG files' strings (it lives in include/hql), no loops, no task logic beyond a call."""
    problems = []
    for path in python_files("dags"):
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.FunctionDef) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and SQL.search(node.value)):
                problems.append((path.name, node.lineno, "SQL", node.value[:60]))
            if isinstance(node, ast.For | ast.While | ast.ListComp | ast.DictComp | ast.SetComp
                          | ast.GeneratorExp):
                problems.append((path.name, node.lineno, type(node).__name__))
            body = [n for n in getattr(node, "body", []) if id(getattr(n, "value", None)) not in docstrings]
            if isinstance(node, ast.FunctionDef) and node.name != path.stem and len(body) > 2:
                problems.append((path.name, node.lineno, f"task {node.name} has logic"))
    assert problems == []


def test_dashboard_pages_hold_no_sql():
    """Every query is a loader (dashboard/history_data.py, pipeline_data.py, live_tables.py, live_store)."""
    found = [(path.name, node.lineno) for path in python_files("dashboard/app_pages")
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value)]
    assert found == []


FIRST_PARTY = ("clickstream", "ops", "simulators", "dashboard", "embedded", "bench",
               "plugins/clickstream_airflow")


def first_party_imports() -> dict[str, set[str]]:
    """Module -> the first-party modules it imports, at any depth (function-local imports included)."""
    paths = {module_of(p).removeprefix("plugins."): p for folder in FIRST_PARTY for p in python_files(folder)}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                # `from package import module` imports the module; `from module import name`, the module.
                names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            targets |= {name for name in names if name in paths and name != module}
        graph[module] = targets
    return graph


def test_no_import_cycle_function_local_imports_included():
    graph = first_party_imports()
    assert "embedded.environment" in graph and graph["embedded.environment"]
    cycles, done, path = [], set(), []

    def visit(module: str) -> None:
        if module in path:
            cycles.append(" -> ".join([*path[path.index(module):], module]))
            return
        if module in done:
            return
        path.append(module)
        for target in sorted(graph[module]):
            visit(target)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert cycles == []
