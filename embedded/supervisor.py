"""The embedded stack's supervisord: its configuration file, its start, and its XML-RPC over a Unix socket."""

from __future__ import annotations

import subprocess
from pathlib import Path
from xmlrpc.client import Fault, ServerProxy

from supervisor.xmlrpc import SupervisorTransport

from embedded.environment import VENV_BIN
from embedded.polling import until

START_TIMEOUT_S = 20


class Supervisor:
    """One data directory's supervisord (``<run dir>/supervisord.conf``, ``<run dir>/supervisor.sock``)."""

    def __init__(self, run_dir: Path):
        self.conf_path = run_dir / "supervisord.conf"
        self.sock_path = run_dir / "supervisor.sock"

    def rpc(self):
        """Return supervisord's XML-RPC interface (``supervisor.*``)."""
        transport = SupervisorTransport(None, None, f"unix://{self.sock_path}")
        return ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def running(self) -> bool:
        """Return whether supervisord answers."""
        if not self.sock_path.exists():
            return False
        try:
            return self.rpc().getState()["statename"] == "RUNNING"
        except (OSError, Fault):
            return False

    def start(self, conf: str, env: dict[str, str], cwd: Path) -> bool:
        """Write the configuration (mode 0600: it holds the environment of processes that get a secret),
        start supervisord, and return whether it answered within START_TIMEOUT_S."""
        self.conf_path.touch(mode=0o600)
        self.conf_path.chmod(0o600)
        self.conf_path.write_text(conf)
        subprocess.run([str(VENV_BIN / "supervisord"), "-c", str(self.conf_path)], env=env, check=True,
                       cwd=cwd)
        return until(self.running, START_TIMEOUT_S, 0.2)

    def process_info(self) -> dict[str, dict]:
        """Return supervisord's state of each process by name ({} when it does not answer)."""
        try:
            return {p["name"]: p for p in self.rpc().getAllProcessInfo()}
        except (OSError, Fault):
            return {}
