"""A wait that stops before its operation is done: out of time, or asked to stop (Ctrl-C).

Why its own module: both ends ask the API to cancel the operation (unless
told to leave it running), wait a short while for it to settle, and say in
the failure what was left behind and what the next run will do (a cancelled
operation is over; one still running blocks the next start through the
in-flight check). Users read the same in docs/lifecycle.md, "Stopping early".
"""

from __future__ import annotations

from typing import Optional

from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.errors import ApiError, TransportError
from pulumi_dicom_jobs.failures import FailureReason, InputWords, JobFailed, operation_failure
from pulumi_dicom_jobs.jobs.operations import cancel_operation, get_operation, poll_briefly
from pulumi_dicom_jobs.lro.status import OperationStatus

__all__ = ["timeout_failure", "interrupt_failure"]

#: After a timeout's cancel, how long to wait for the final counters.
_CANCEL_SETTLE_S = 10.0
#: After an interruption's cancel: short, the user pressed Ctrl-C and waits.
_INTERRUPT_SETTLE_S = 3.0


def _cancel_and_settle(client: HealthcareClient, name: str, last: Optional[OperationStatus],
                       settle_s: float) -> tuple[str, Optional[OperationStatus]]:
    """Ask the API to cancel ``name`` and wait up to ``settle_s`` for it to end.

    Returns what happened, as words for a message (``cancelled``, ``cancel
    requested``, or why the cancel failed), and the latest snapshot.
    """
    try:
        cancel_operation(client, name)
        last = poll_briefly(client, settle_s, lambda: get_operation(client, name), lambda op: op.done)
        return ("cancelled" if last.done else "cancel requested"), last
    except (JobFailed, ApiError, TransportError) as exc:
        return f"cancel failed ({exc}); it may still be running", last


def timeout_failure(client: HealthcareClient, name: str, timeout_seconds: float,
                    last: Optional[OperationStatus], cancel: bool) -> JobFailed:
    """The failure of a wait that ran out of time; cancels the operation when ``cancel``."""
    action = ""
    if cancel:
        action, last = _cancel_and_settle(client, name, last, _CANCEL_SETTLE_S)

    def headline(words: InputWords) -> str:
        done = action or f"left running ({words('cancel_on_timeout', False)})"
        return (f"the DICOM job did not finish within {words('timeout_seconds', timeout_seconds)}; "
                f"operation {name} {done}")

    if last is None:
        return JobFailed(FailureReason.TIMEOUT, headline)
    return operation_failure(FailureReason.TIMEOUT, headline, last)


def interrupt_failure(client: HealthcareClient, name: str, last: Optional[OperationStatus],
                      cancel: bool) -> JobFailed:
    """The failure of a wait that was asked to stop; cancels the operation when ``cancel``.

    What the next run does follows from what is left: a cancelled operation
    is over, so the next run starts a new one; one still running (left
    running, its cancel failed, or its cancel not yet taken effect) blocks
    the next start of the same kind on its dataset (the in-flight check)
    until it ends.
    """
    if cancel:
        action, last = _cancel_and_settle(client, name, last, _INTERRUPT_SETTLE_S)
        if action == "cancelled":
            then = "the next run starts the job again (a new operation)"
        elif action == "cancel requested":
            then = ("the next run starts the job again (a new operation) once the cancel has taken "
                    "effect; until then it will not start a second one")
        else:
            then = "the next run will not start a second operation while this one runs"
    else:
        action = "left running (cancel on interrupt is off)"
        then = ("the next run will not start a second operation of the same kind on its dataset "
                "while this one runs")
    headline = f"stopped waiting for the DICOM job: interrupted; operation {name} {action}; {then}"
    if last is None:
        return JobFailed(FailureReason.INTERRUPTED, headline)
    return operation_failure(FailureReason.INTERRUPTED, headline, last)
