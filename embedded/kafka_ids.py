"""Kafka cluster ids, as Kafka makes them (standard library only: docker/generate-secrets.py uses it too,
before anything is installed)."""

from __future__ import annotations

import base64
import uuid


def new_cluster_id() -> str:
    """Return a cluster id as Kafka's ``Uuid.randomUuid()``: 16 random bytes, URL-safe base64 without
    padding (22 characters), never starting with '-' (which ``kafka-storage format -t`` would read as an
    option; Kafka draws again too)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text
