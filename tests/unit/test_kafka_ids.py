"""Kafka cluster ids, one implementation for both runtimes (embedded/kafka.py, docker/generate-secrets.py)."""

from __future__ import annotations

import base64
import uuid

from embedded import kafka_ids


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch):
    # 0xF8 encodes to '-' first: `kafka-storage format -t -…` would take the id for an option.
    drawn = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x10" + bytes(15))])
    monkeypatch.setattr(kafka_ids.uuid, "uuid4", lambda: next(drawn))

    cluster_id = kafka_ids.new_cluster_id()

    assert cluster_id == base64.urlsafe_b64encode(b"\x10" + bytes(15)).decode().rstrip("=")
    assert len(cluster_id) == 22 and not cluster_id.startswith("-")
