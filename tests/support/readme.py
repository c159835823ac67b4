"""The shell commands the README shows, as a user copies them, and a plain shell to run them in."""

from __future__ import annotations

import re
import subprocess

from clickstream.settings import REPO_ROOT

# The commands that read or report: a test runs them against a running stack. (The others start, stop,
# trigger or backfill: the tests that do those run them.)
READING = re.compile(r"^make (status|logs|beeline|airflow CMD=\"dags list\")")


def bash_commands(text: str) -> list[str]:
    """Return each command of the markdown's bash blocks: continuation lines joined, comments dropped."""
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        current = ""
        for line in block.splitlines():
            current += line + "\n"
            if not line.rstrip().endswith("\\") and current.strip():
                commands.append(re.sub(r"\s+#[^'\"]*$", "", current.strip()))
                current = ""
    return commands


def reading_commands() -> list[str]:
    """Return the README's commands that read or report."""
    return [c for c in bash_commands((REPO_ROOT / "README.md").read_text()) if READING.match(c)]


def run_as_typed(command: str, stack_env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess:
    """Run a command in bash from the project root with a plain PATH and only the stack's own settings."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": stack_env.get("HOME", "/root"), "LANG": "C.UTF-8",
           **{k: v for k, v in stack_env.items() if k.startswith("CLICKSTREAM_")}}
    return subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
