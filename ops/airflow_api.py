"""A small client of Airflow's REST API (v2): what the stack's commands and the dashboard ask of Airflow.

It logs in once with ``POST /auth/token`` and sends the token with every call. Credentials come from
the caller: ``CLICKSTREAM_AIRFLOW_API_USER`` and the secret ``CLICKSTREAM_AIRFLOW_API_PASSWORD``
(clickstream/secrets.py), which both runtimes set (the embedded one to the admin password it generated,
``<data dir>/airflow/passwords.json``; production to the dashboard's read-only user's, a secret file).
"""

from __future__ import annotations

import requests


class AirflowApiError(RuntimeError):
    """The API refused the login or could not be reached; the message says which and what to do."""


class AirflowApi:
    """Airflow's REST API at a base URL, logged in as one user."""

    def __init__(self, base_url: str, user: str, password: str, timeout: float = 5.0):
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self._auth = {"username": user, "password": password}
        self._headers: dict[str, str] | None = None

    def _login(self) -> dict[str, str]:
        if self._headers is None:
            try:
                token = requests.post(f"{self.base}/auth/token", json=self._auth, timeout=self.timeout)
            except requests.RequestException as exc:
                raise AirflowApiError(f"Cannot reach the Airflow API at {self.base} "
                                      f"({exc.__class__.__name__}).") from exc
            if token.status_code in (401, 403):
                raise AirflowApiError(f"The Airflow API at {self.base} refused the login of "
                                      f"{self._auth['username']!r}: set CLICKSTREAM_AIRFLOW_API_USER and "
                                      "CLICKSTREAM_AIRFLOW_API_PASSWORD.")
            token.raise_for_status()
            self._headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        return self._headers

    def call(self, method: str, path: str, **kwargs) -> dict:
        """Send one request to ``/api/v2/<path>`` and return its JSON body."""
        try:
            resp = requests.request(method, f"{self.base}/api/v2/{path.lstrip('/')}", headers=self._login(),
                                    timeout=self.timeout, **kwargs)
            resp.raise_for_status()
        except requests.RequestException as exc:
            raise AirflowApiError(f"Airflow API {method} /api/v2/{path.lstrip('/')} failed: {exc}") from exc
        return resp.json()

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """Pause or unpause a DAG."""
        self.call("PATCH", f"dags/{dag_id}", json={"is_paused": paused})

    def dags(self, pattern: str) -> list[dict]:
        """Return the DAGs whose id contains pattern."""
        return self.call("GET", "dags", params={"limit": 100, "dag_id_pattern": pattern})["dags"]

    def dag_runs(self, dag_id: str, limit: int = 50, **filters) -> list[dict]:
        """Return a DAG's runs, newest first (filters: e.g. state=["running"])."""
        return self.call("GET", f"dags/{dag_id}/dagRuns",
                         params={"limit": limit, "order_by": "-run_after", **filters})["dag_runs"]

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict:
        """Return one task instance of a run."""
        return self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
