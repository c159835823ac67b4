"""Health checks of the embedded stack's services: each answers whether a service does its job yet (a
query answered, a metadata request, an SMTP NOOP), not merely whether its port is open."""

from __future__ import annotations

import socket
from collections.abc import Callable

import requests

from clickstream.settings import Settings


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Return whether a TCP connect to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout: float = 10.0) -> bool:
    """Return whether GET url answers 200."""
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def broker_healthy(settings: Settings) -> bool:
    """Return whether the broker answers a metadata request."""
    if not port_open("127.0.0.1", settings.broker_port):
        return False
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).list_topics(timeout=3)
        return True
    except Exception:  # noqa: BLE001 - any client error means not healthy yet
        return False


def hiveserver2_healthy(settings: Settings) -> bool:
    """Return whether HiveServer2 answers a query."""
    if not port_open(settings.hive_host, settings.hive_port):
        return False
    from clickstream.hive import execute

    try:
        return execute(settings, "SELECT 1", database=None) == [(1,)]
    except Exception:  # noqa: BLE001 - any client error means not healthy yet
        return False


def smtp_healthy(settings: Settings) -> bool:
    """Return whether the mail sink answers an SMTP NOOP."""
    import smtplib

    try:
        with smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=5) as smtp:
            return smtp.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def airflow_health(settings: Settings) -> dict[str, str]:
    """Return the status of each Airflow component from the api-server's health endpoint."""
    url = f"http://127.0.0.1:{settings.airflow_port}/api/v2/monitor/health"
    try:
        body = requests.get(url, timeout=10).json()
    except (requests.RequestException, ValueError):
        return {}
    return {name: (info or {}).get("status") or "unknown" for name, info in body.items()}


def airflow_component(component: str) -> Callable[[Settings], bool]:
    """Return a health check of one Airflow component, as the api-server reports it."""

    def check(settings: Settings) -> bool:
        return airflow_health(settings).get(component) == "healthy"

    return check
