"""Workarounds for bugs of the Airflow release the platform pins, each in one place until it is fixed.

``airflow dags test`` and ``DAG.test()`` on a DAG with a deadline alert (every platform DAG but the
simulation's) crash after a successful run: ``DAG.test()`` round-trips the DAG through
serialization in memory, which leaves ``dag.deadline`` holding the encoded alerts (dicts) instead
of ``deadline_alert`` row ids, and ``DagRun.update_state()`` looks each up by id — "'dict' object
has no attribute 'hex'" (SQLite) or "can't adapt type 'dict'" (PostgreSQL). Upstream:
apache/airflow#73428, fix proposed in apache/airflow#73430 (both open on 2026-12-03, Airflow 3.3.2).
The fix proposed there is what this does: an encoded alert is decoded where it is, and ids keep
the lookup. The scheduler, which stores alerts and passes ids, never takes the new branch.

Applied when the platform's Airflow-side package is imported (every DAG file does), for Airflow
releases up to the one known to have the bug; remove it when a fixed release is pinned
(tests/integration/test_dags_test.py then shows whether the bug is gone).
"""

from __future__ import annotations

from importlib.metadata import version

from packaging.version import Version

LAST_AFFECTED = Version("3.3.2")


def patch_deadline_lookup() -> bool:
    """Let ``DeadlineAlert.get_by_id`` take an encoded alert as well as an id; return whether patched."""
    if Version(version("apache-airflow")) > LAST_AFFECTED:
        return False
    from airflow.models.deadline_alert import DeadlineAlert

    original = DeadlineAlert.get_by_id
    if getattr(original, "_clickstream_patched", False):
        return True

    def get_by_id(deadline_alert_id, *, session=None):
        if isinstance(deadline_alert_id, dict):  # an encoded alert (DAG.test()), not a row id
            encoded = deadline_alert_id.get("__var", deadline_alert_id)
            # Transient: never added to the session; the caller reads only its reference.
            return DeadlineAlert(name=encoded.get("name"), reference=encoded["reference"],
                                 interval=encoded.get("interval"), callback_def=encoded.get("callback"))
        if session is None:
            return original(deadline_alert_id)
        return original(deadline_alert_id, session=session)

    get_by_id._clickstream_patched = True  # type: ignore[attr-defined]
    DeadlineAlert.get_by_id = staticmethod(get_by_id)  # type: ignore[method-assign]
    return True
