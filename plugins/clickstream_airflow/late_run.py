"""The late-run email of a deadline alert, sent only for a run that is still running.

Airflow removes a run's deadlines when the run succeeds, not when it fails (Airflow 3.3,
``DagRun.update_state``). A run that failed before its deadline has already sent its failure alerts
(``failure_notifiers``): a "late" email on top of them, hours later, is a false alarm. The triggerer
hands the notifier the run as it was when the deadline passed; a finished run gets no email.
"""

from __future__ import annotations

from airflow.providers.smtp.notifications.smtp import SmtpNotifier

FINISHED = frozenset({"success", "failed"})


def run_state(context) -> str | None:
    """Return the state of the run a deadline callback's context describes."""
    dag_run = (context or {}).get("dag_run") or {}
    state = dag_run.get("state") if isinstance(dag_run, dict) else getattr(dag_run, "state", None)
    return getattr(state, "value", state)


class LateRunEmail(SmtpNotifier):
    """SmtpNotifier for deadline alerts: emails only while the run is unfinished."""

    async def async_notify(self, context) -> None:
        """Send the email, unless the run has finished (a failed run has alerted already)."""
        state = run_state(context)
        if state in FINISHED:
            self.log.info("deadline missed by a run that has finished (%s): no late-run email", state)
            return
        await super().async_notify(context)
