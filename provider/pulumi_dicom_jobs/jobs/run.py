"""The whole job: start, wait, and start again while fresh IAM grants propagate.

Why a restart: a grant made in the same ``pulumi up`` (or minutes before)
can take a while to reach the service, and an operation that ends
PERMISSION_DENIED before any instance succeeded is then worth starting
again, within a window after the first start
(``DICOM_JOBS_PERMISSION_RETRY_SECONDS``). Failed instances wrote nothing,
so they do not stop it; one success does, since starting again would do
that work twice. The rule and why: docs/real-gcp.md, "The permission
retry"; it is written here once, in :func:`_grants_not_ready`.
``timeout_seconds`` bounds the whole run, restarts included, on the job
layer's clock.
"""

from __future__ import annotations

from typing import Callable

from pulumi_dicom_jobs import api_facts, settings
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.failures import FailureReason, JobFailed
from pulumi_dicom_jobs.jobs import clock
from pulumi_dicom_jobs.jobs.starting import start
from pulumi_dicom_jobs.jobs.waiting import wait
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.backoff import Backoff
from pulumi_dicom_jobs.lro.cancel import CancelToken
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.spec import DEFAULT_TIMEOUT_SECONDS
from pulumi_dicom_jobs.targets import JobTargets

__all__ = ["run_job", "PERMISSION_RETRY_BACKOFF"]

#: The pause before starting again while IAM grants propagate (jittered).
PERMISSION_RETRY_BACKOFF = Backoff(initial=2.0, multiplier=2.0, maximum=30.0)


def _grants_not_ready(exc: JobFailed) -> bool:
    """True for an operation that ended PERMISSION_DENIED before any instance succeeded
    (failed instances or not): nothing to do twice if it is started again."""
    op = exc.operation
    return (exc.reason in (FailureReason.OPERATION_ERROR, FailureReason.TOO_MANY_FAILURES) and op is not None
            and op.error_code == api_facts.CODE_PERMISSION_DENIED and op.success == 0)


def run_job(client: HealthcareClient, kind: JobKind, dicom_store: str, body: dict, *,
            timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, max_failed_instances: int = 0,
            permission_retry_seconds: float | None = None,
            on_started: Callable[[str], None] | None = None,
            on_restarted: Callable[[str], None] | None = None,
            on_progress: Callable[[OperationStatus], None] | None = None,
            cancel: CancelToken | None = None, cancel_on_interrupt: bool = True) -> OperationStatus:
    """Start a job and wait for it, restarting while fresh IAM grants propagate.

    A run whose operation ends PERMISSION_DENIED with no success (:func:`_grants_not_ready`) within
    ``permission_retry_seconds`` (default
    :data:`~pulumi_dicom_jobs.settings.DEFAULT_PERMISSION_RETRY_SECONDS`, env
    :data:`~pulumi_dicom_jobs.settings.PERMISSION_RETRY_ENV`) of the first
    start is started again after a pause along :data:`PERMISSION_RETRY_BACKOFF`;
    ``timeout_seconds`` bounds the whole run. ``on_started`` gets the name of
    the first operation, ``on_restarted`` (else ``on_started``) that of each
    one started again, so that a face can say why a second operation
    appeared. ``cancel`` stops the run
    between polls and during its pauses (see :func:`~pulumi_dicom_jobs.jobs.waiting.wait`); once set, no new
    operation is started.
    """
    window = settings.permission_retry_window() if permission_retry_seconds is None \
        else permission_retry_seconds
    first = clock.monotonic()
    deadline = first + timeout_seconds
    attempt = 0
    started: list[str] = []
    while True:
        if cancel is not None and cancel.cancelled:
            raise JobFailed(FailureReason.INTERRUPTED, f"did not start the DICOM {kind.verb} job: interrupted"
                            + (f" (earlier attempts: {', '.join(started)})" if started else ""))
        name = start(client, kind, dicom_store, body)
        started.append(name)
        announce = on_restarted if attempt and on_restarted is not None else on_started
        if announce is not None:
            announce(name)
        try:
            return wait(client, name, timeout_seconds=max(0.0, deadline - clock.monotonic()),
                        max_failed_instances=max_failed_instances, on_progress=on_progress,
                        reported_timeout=timeout_seconds, cancel=cancel,
                        cancel_on_interrupt=cancel_on_interrupt,
                        targets=JobTargets.of_request(kind, body))
        except JobFailed as exc:
            now = clock.monotonic()
            pause = PERMISSION_RETRY_BACKOFF.equal_jitter(attempt)
            if _grants_not_ready(exc) and now - first < window and now + pause < deadline:
                attempt += 1
                (cancel.sleep if cancel is not None else client.sleep)(
                    min(pause, max(0.0, first + window - now)))
                continue
            if len(started) > 1:
                note = (f"\n(started {len(started)} times over {now - first:.0f}s while waiting for "
                        f"IAM grants to propagate: {', '.join(started)})")
                last = exc  # ``exc`` is unbound once this block ends; the message is written later
                raise JobFailed(last.reason, lambda words: last.in_words(words) + note, last.operation) from None
            raise
