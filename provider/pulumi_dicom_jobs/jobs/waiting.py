"""Waiting for a job's operation, and the verdict on how it ended.

Why together: the wait ends in one of three ways (done, out of time, asked
to stop), and only a done operation gets a verdict; the other two are
:mod:`.stopping`'s. The verdict's rules (a cancel, an error, too many failed
instances: only what the API reported) are written for users in
docs/lifecycle.md, "up: create".
"""

from __future__ import annotations

from typing import Callable, Optional

from pulumi_dicom_jobs import api_facts
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.errors import ApiError, TransportError
from pulumi_dicom_jobs.failures import FailureReason, operation_failure
from pulumi_dicom_jobs.jobs import clock
from pulumi_dicom_jobs.jobs.operations import get_operation
from pulumi_dicom_jobs.jobs.stopping import interrupt_failure, timeout_failure
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.cancel import CancelToken
from pulumi_dicom_jobs.lro.schedule import PollSchedule
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.lro.waiter import Waiter
from pulumi_dicom_jobs.targets import JobTargets

__all__ = ["wait", "judge"]


def judge(status: OperationStatus, max_failed_instances: int,
          targets: Optional[JobTargets] = None) -> OperationStatus:
    """Return a finished operation that counts as success, or raise JobFailed.

    A job fails only for what the API reported: a cancel, an error with no
    failed instance (the operation's own failure), or more failed instances
    than ``max_failed_instances``. An import that ended without an error and
    counted nothing succeeds: the API ignores an instance already in the
    store and does not say whether it counts it, so zero may mean a re-run
    over stored data as well as a pattern that selected nothing
    (docs/lifecycle.md, "what the counters say"). ``targets`` lets a
    permission denial's hint name the role and where.
    """
    kind = JobKind.of_method_name(status.api_method_name)
    job = f"DICOM {kind.verb} job" if kind is not None else "DICOM job"
    code = status.error_code
    if code == api_facts.CODE_CANCELLED:
        raise operation_failure(FailureReason.CANCELLED, f"the {job} was cancelled", status, targets)
    if status.failure > max_failed_instances:
        raise operation_failure(
            FailureReason.TOO_MANY_FAILURES,
            lambda words: (f"the {job} finished with {status.failure} failed instance(s), more than "
                           f"{words('max_failed_instances', max_failed_instances)}"), status, targets)
    if code is not None and status.failure == 0:
        raise operation_failure(FailureReason.OPERATION_ERROR, f"the {job} failed", status, targets)
    return status


def wait(client: HealthcareClient, name: str, *, timeout_seconds: float, max_failed_instances: int = 0,
         on_progress: Callable[[OperationStatus], None] | None = None,
         cancel_on_timeout: bool = True, schedule: PollSchedule | None = None,
         reported_timeout: float | None = None, cancel: CancelToken | None = None,
         cancel_on_interrupt: bool = True, targets: Optional[JobTargets] = None) -> OperationStatus:
    """Poll ``name`` until done; return it if it counts as success, else raise JobFailed.

    Done with failures is success when ``failure <= max_failed_instances``.
    A poll that fails even after the transport's retries is not fatal: the
    next comes after the client's longest retry delay, until the deadline.
    On timeout the operation is cancelled (unless ``cancel_on_timeout`` is
    false) and JobFailed(FailureReason.TIMEOUT) names it (and ``reported_timeout`` when the
    caller's budget differs from the time left, as in
    :func:`~pulumi_dicom_jobs.jobs.run.run_job`).
    When ``cancel`` is set meanwhile, the wait stops at once: the operation is
    cancelled (unless ``cancel_on_interrupt`` is false) and
    JobFailed(FailureReason.INTERRUPTED) names it with its counters.
    """
    schedule = schedule or PollSchedule()

    def probe() -> Optional[OperationStatus]:
        try:
            return get_operation(client, name)
        except (ApiError, TransportError):
            return None  # transient even after retries: keep waiting until the deadline

    def next_delay(status: Optional[OperationStatus], now: float) -> float:
        return schedule.next_delay(status, now) if status is not None else client.retry.maximum

    # the job layer's clock, the one run_job's deadline is measured on
    waiter: Waiter[OperationStatus] = Waiter(timeout_seconds, next_delay, on_progress=on_progress,
                                             clock=clock.monotonic, sleep=client.sleep, cancel=cancel)
    outcome = waiter.run(probe, lambda status: status.done)
    if outcome.done and outcome.last is not None:
        return judge(outcome.last, max_failed_instances, targets)
    if outcome.cancelled:
        raise interrupt_failure(client, name, outcome.last, cancel_on_interrupt)
    raise timeout_failure(client, name,
                          reported_timeout if reported_timeout is not None else timeout_seconds,
                          outcome.last, cancel_on_timeout)
