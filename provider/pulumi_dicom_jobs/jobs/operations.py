"""An operation's snapshot and cancel as the job layer sees them, and the short polls around them.

Why its own module: starting (the settle after a lost answer) and stopping
(the settle after a cancel) both poll briefly, and every caller of the job
layer (the faces' ``read``, ``dicom-jobs status``) wants a forgotten
operation (404) as a :class:`~pulumi_dicom_jobs.failures.OperationNotFound`,
not as the API layer's ``NotFound``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.errors import NotFound
from pulumi_dicom_jobs.failures import OperationNotFound
from pulumi_dicom_jobs.jobs import clock
from pulumi_dicom_jobs.lro.backoff import Backoff
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.lro.waiter import NextDelay, Waiter, growing_pauses

__all__ = ["get_operation", "cancel_operation", "poll_briefly", "SETTLE_BACKOFF"]

#: The short polls around a start or a cancel: 0.2 s doubling to 2 s.
SETTLE_BACKOFF = Backoff(initial=0.2, multiplier=2.0, maximum=2.0)


def get_operation(client: HealthcareClient, name: str) -> OperationStatus:
    """One snapshot. Raises :class:`OperationNotFound` on 404, ApiError/TransportError otherwise."""
    try:
        return client.get_operation(name)
    except NotFound:
        raise OperationNotFound(name) from None


def cancel_operation(client: HealthcareClient, name: str) -> None:
    """Ask the API to cancel ``name`` (safe to repeat); OperationNotFound on 404."""
    try:
        client.cancel_operation(name)
    except NotFound:
        raise OperationNotFound(name) from None


def poll_briefly(client: HealthcareClient, seconds: float, probe: Callable[[], Any],
                 settled: Callable[[Any], bool], pauses: Optional[NextDelay] = None) -> Any:
    """``probe()`` until ``settled`` says yes or ``seconds`` pass; the last result.

    For the short waits around a start or a cancel (not the job wait, which
    has its schedule): pauses grow along :data:`SETTLE_BACKOFF` unless
    ``pauses`` says otherwise, and the last probe starts at the deadline or
    later (:class:`~pulumi_dicom_jobs.lro.waiter.Waiter`).
    """
    waiter: Waiter[Any] = Waiter(seconds, pauses or growing_pauses(SETTLE_BACKOFF), clock=clock.monotonic,
                                 sleep=client.sleep)
    return waiter.run(probe, settled).last
