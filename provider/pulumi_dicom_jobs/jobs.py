"""Start a DICOM import/export job and wait for it: the one code path for both
the dynamic providers and the ``dicom-jobs`` CLI.

Layers: HTTP, credentials and one method per API call are in
:mod:`pulumi_dicom_jobs.api`; the operation snapshot, the backoff, the poll
schedule and the waiter in :mod:`pulumi_dicom_jobs.lro`; the failure
messages in :mod:`pulumi_dicom_jobs.failures`. This module decides: when to
start, what to adopt, when to start again, and what an ended operation means.

Flow of :func:`run_job`::

    GET {dataset}/operations (every page, no filter)
      a not-done operation of the same kind older than the grace period?
                       -> JobFailed("in_flight") naming it; no POST (see below)
    POST {dicomStore}:import|:export          (start)
      ambiguous answer? -> list the dataset's operations started since just
      before the POST and adopt the one we started (see _post_start)
    GET {operation} until done                 (wait: lro.Waiter, lro.PollSchedule)
      timeout          -> POST {operation}:cancel, JobFailed("timeout")
      interrupted      -> (a CancelToken was set: Ctrl-C) POST {operation}:cancel
                          unless told to leave it running, JobFailed("interrupted")
      error / failures -> JobFailed with code, text, counters, samples, logs URL
      PERMISSION_DENIED, nothing imported, within the propagation window
                       -> start again with backoff (fresh IAM grants lag)

Why adopt instead of retrying the POST: a POST whose answer was lost may have
started an operation. Starting a second import would double the work (and a
second export to BigQuery with WRITE_APPEND would duplicate rows). The
operations list, read whole and selected here on each operation's
``apiMethodName`` and ``createTime >= (time just before the POST -
CLOCK_SKEW_MARGIN_S)``, says what started (no list filter is sent: the API
documents no filter grammar for ``operations.list``, and one the service
ignored or refused would change this rule's meaning silently; nor does it
promise an order, so there is no early stop: the cost is one GET per 100
operations the dataset remembers, paid before a start and after a lost
answer): exactly one candidate is adopted; several (another job of
the same kind started on the same dataset within those few seconds by another
process) cannot be told apart from the API's answer, so the start fails with
a message naming them rather than guess. None is not proof yet: the listing
may lag the write, and a request whose answer timed out (a read timeout, a
504) may still be waiting in the server and start its operation later. So
the listing is repeated for a settle period (3 s; after a timeout, twice the
read timeout, at most 30 s) and only if nothing appears is the POST sent
again.

In-flight check before starting (detect and say so, never adopt): when the
dynamic provider host dies mid-wait (killed, OOM, CI runner gone), the engine
later runs ``create`` again for the same inputs while the first operation may
still be running. The API cannot tell whose an operation is: an operation
carries no request body and no store name, only the dataset, the method and
timestamps. Adopting "the" running import of a dataset would therefore guess,
and could attach this resource to an unrelated job (and report its outcome as
ours). Starting blindly would run the work twice (duplicate BigQuery rows with
WRITE_APPEND). So, before the starting POST, the dataset's operations that
are not done, have the same ``apiMethodName`` and were created more than
:data:`~pulumi_dicom_jobs.settings.IN_FLIGHT_GRACE_SECONDS` ago are listed; if there are any, nothing is
started and JobFailed("in_flight") names each one (createTime, counters),
says it may be this job's own operation from an interrupted run, and how to
proceed (wait for it or cancel it, then run again; the faces name their own
commands for that, e.g. ``dicom-jobs wait OP``).
Operations this process started are never counted: every dynamic resource
of one ``pulumi up`` runs in the same provider host process, so siblings (say
an import whose bucket grant came a minute after another import's) never trip
over each other, however late one of them starts; a restarted host remembers
nothing, which is what makes it see its predecessor's operation. The grace
period covers jobs started at nearly the same moment by *other* processes
(two stacks, or a ``dicom-jobs`` run, sharing a dataset). Users who really
run unrelated, long concurrent jobs of one kind in one dataset from several
processes turn the check off with ``DICOM_JOBS_IN_FLIGHT_CHECK=off``. ``DICOM_JOBS_IN_FLIGHT_GRACE_SECONDS``
overrides the grace period (read at each start). If the listing itself
fails, the start fails too (loudly, naming the knob): a check that silently
passes would defeat its purpose. Except when the listing fails the way the
start itself would (the dataset does not exist, the credential is refused,
nothing answers at the endpoint): then the failure names that cause and not
the check, whose opt-out would change nothing.

Credentials are looked up when a :class:`~pulumi_dicom_jobs.api.client.HealthcareClient`
first sends a request and live only as long as the client.
"""


from __future__ import annotations

import datetime as _dt
import threading
import time
from typing import Any, Callable, Mapping, Optional

from pulumi_dicom_jobs import apischema, names, settings
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.errors import (AmbiguousRequestError, ApiError, CredentialsError, NotFound,
                                          TransportError, Unauthenticated)
from pulumi_dicom_jobs.failures import (JobFailed, JobInFlight, OperationNotFound, operation_failure,
                                        permission_hint)
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.backoff import Backoff
from pulumi_dicom_jobs.lro.cancel import CancelToken
from pulumi_dicom_jobs.lro.schedule import PollSchedule
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.lro.waiter import Waiter, growing_pauses
from pulumi_dicom_jobs.spec import DEFAULT_TIMEOUT_SECONDS
from pulumi_dicom_jobs.targets import JobTargets
from pulumi_dicom_jobs.timestamps import parse_rfc3339

__all__ = [
    "start", "start_import", "start_export", "get_operation", "cancel_operation", "check_in_flight",
    "wait", "judge", "run_job",
]

#: How far before the POST the operations listing looks (client/server clock skew).
CLOCK_SKEW_MARGIN_S = 5.0
#: How many times an unprocessed start POST is sent again after reconciliation.
MAX_START_ATTEMPTS = 4
#: The settle period after a lost start answer, and its cap after a timeout
#: (module docstring).
START_SETTLE_S = 3.0
START_SETTLE_MAX_S = 30.0
#: After a timeout's cancel, how long to wait for the final counters.
_CANCEL_SETTLE_S = 10.0
#: After an interruption's cancel: short, the user pressed Ctrl-C and waits.
_INTERRUPT_SETTLE_S = 3.0
#: The short polls around a start or a cancel: 0.2 s doubling to 2 s.
SETTLE_BACKOFF = Backoff(initial=0.2, multiplier=2.0, maximum=2.0)
#: The pause before starting again while IAM grants propagate (jittered).
PERMISSION_RETRY_BACKOFF = Backoff(initial=2.0, multiplier=2.0, maximum=30.0)


# -- operations: the API's answers as job-level outcomes -------------------
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


def _poll_briefly(client: HealthcareClient, seconds: float, probe: Callable[[], Any],
                  settled: Callable[[Any], bool]) -> Any:
    """``probe()`` until ``settled`` says yes or ``seconds`` pass; the last result.

    For the short waits around a start or a cancel (not the job wait, which
    has its schedule): pauses grow along :data:`SETTLE_BACKOFF`, and the last
    probe comes at the deadline.
    """
    # this module's clock, as in wait(): the settles and the job's deadline on one clock
    waiter: Waiter[Any] = Waiter(seconds, growing_pauses(SETTLE_BACKOFF), clock=time.monotonic,
                                 sleep=client.sleep)
    return waiter.run(probe, settled).last


# -- starting ------------------------------------------------------------------
class _OperationNames:
    """A thread-safe set of the operation names this process has started.

    The Pulumi engine runs every dynamic resource of one ``pulumi up`` in one
    provider host process, so this set holds the siblings' operations: the
    in-flight check never mistakes them for an interrupted run's, however
    long ago they started. A restarted host starts with an empty set, which
    is what lets it see the operation its predecessor left running.
    """

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._lock = threading.Lock()

    def add(self, name: str) -> None:
        with self._lock:
            self._names.add(name)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._names


_started_here = _OperationNames()


def _start_failed(kind: JobKind, exc: BaseException) -> JobFailed:
    text = f"could not start the DICOM {kind.verb} job: {exc}"
    hint = permission_hint(str(exc))
    return JobFailed("start_failed", text + (f"\n{hint}" if hint else ""))


def check_in_flight(client: HealthcareClient, dicom_store: str, kind: JobKind) -> None:
    """Raise JobInFlight when ``dicom_store``'s dataset runs an older job of this kind.

    Older: created more than the grace period before now (an operation
    without a readable createTime counts as older). See the module docstring.
    """
    if not settings.in_flight_check_enabled():
        return
    method = kind.api_method_name(client.api_version)
    dataset = names.dataset_of(dicom_store)
    grace = settings.in_flight_grace_seconds()
    cutoff = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=grace)
    try:
        running = [op for op in client.list_operations(dataset)
                   if not op.done and op.api_method_name == method]
    except NotFound as exc:
        raise JobFailed("start_failed", (
            f"could not start the DICOM {kind.verb} job: {exc.message} (the API answered "
            f"{exc.http_status} {exc.status} for the dataset {dataset})")) from None
    except (Unauthenticated, TransportError) as exc:
        raise _start_failed(kind, exc) from None  # the start would fail alike: not the check's doing
    except ApiError as exc:
        raise JobFailed("start_failed", (
            f"could not start the DICOM {kind.verb} job: listing the operations of {dataset} to check "
            f"for a job of the same kind still running (for instance from an interrupted run) "
            f"failed: {exc}. Set {settings.IN_FLIGHT_CHECK_ENV}=off to start without this check.")) from None
    older = []
    for op in running:
        created = parse_rfc3339(op.create_time)
        if op.done or op.name in _started_here:
            continue  # a sibling this process started: not an interrupted run's
        if created is None or created <= cutoff:
            older.append(op)
    if not older:
        return
    lines = [f"did not start the DICOM {kind.verb} job: {len(older)} operation(s) of the same kind "
             f"({method}) started more than {grace:g}s ago and still running on {dataset}:"]
    for op in older:
        lines.append(f"  - {op.name} (created {op.create_time or 'at an unknown time'}; counters: "
                     f"success={op.success} failure={op.failure} pending={op.pending})")
    lines.append(
        "It may be this job's own operation from an interrupted run (for instance the Pulumi "
        "provider host was killed while waiting); the API cannot tell whose it is, so no second "
        "operation was started.")
    raise JobInFlight(lines, [op.name for op in older], settings.IN_FLIGHT_CHECK_ENV)


def _adopt(client: HealthcareClient, dataset: str, method: str, since: _dt.datetime) -> list[str]:
    """Candidates for the operation a lost POST started: same kind, started since ``since``.

    Operations this process already knows it started (siblings) are not candidates.
    """
    candidates = []
    for op in client.list_operations(dataset):
        created = parse_rfc3339(op.create_time)
        if op.api_method_name == method and created is not None and created >= since \
                and op.name not in _started_here:
            candidates.append(op.name)
    return candidates


def _settle_seconds(client: HealthcareClient, lost: AmbiguousRequestError) -> float:
    """How long a lost start answer may take to show up as an operation."""
    if not lost.timed_out:
        return START_SETTLE_S
    return min(START_SETTLE_MAX_S, max(START_SETTLE_S, 2 * client.read_timeout))


def _post_start(client: HealthcareClient, dicom_store: str, kind: JobKind, body: Mapping[str, Any]) -> str:
    """The starting POST, adopting the operation it started when its answer was lost."""
    what = kind.verb
    method = kind.api_method_name(client.api_version)
    dataset = names.dataset_of(dicom_store)
    for _attempt in range(MAX_START_ATTEMPTS):
        before = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=CLOCK_SKEW_MARGIN_S)
        try:
            name = (client.export_dicom if kind.is_export else client.import_dicom)(dicom_store, body)
        except AmbiguousRequestError as exc:
            try:
                candidates = _poll_briefly(client, _settle_seconds(client, exc),
                                           lambda: _adopt(client, dataset, method, before), bool)
            except (ApiError, TransportError) as list_exc:
                raise JobFailed("start_failed", f"could not start the DICOM {what} job: the start "
                                f"request got no reliable answer ({exc.cause}) and listing the "
                                f"dataset's operations to find out failed: {list_exc}") from None
            if len(candidates) == 1:
                return candidates[0]
            if candidates:
                raise JobFailed("start_failed", (
                    f"could not tell which DICOM {what} job was started: the start request got no "
                    f"reliable answer ({exc.cause}) and {len(candidates)} operations of the same kind "
                    f"started on {dataset} since then: {', '.join(candidates)}. Check them (one is "
                    "probably this job's), cancel duplicates, then import the right one into the "
                    "stack by its operation name or run again."))
            continue  # nothing started: sending the POST again is safe
        except (ApiError, TransportError) as exc:
            raise _start_failed(kind, exc) from None
        if not name:
            raise JobFailed("start_failed", f"could not start the DICOM {what} job: the answer "
                                            "named no operation")
        return name
    raise JobFailed("start_failed", f"could not start the DICOM {what} job: {MAX_START_ATTEMPTS} "
                                    "start requests got no reliable answer and none started an operation")


def start(client: HealthcareClient, kind: JobKind, dicom_store: str, body: Mapping[str, Any]) -> str:
    """Start a job of ``kind``; return the operation name (raises JobFailed).

    Checks for an older operation of the same kind first (module docstring)
    and adopts the operation a lost answer started instead of starting twice.
    """
    try:
        check_in_flight(client, dicom_store, kind)
        name = _post_start(client, dicom_store, kind, body)
    except CredentialsError as exc:
        raise _start_failed(kind, exc) from None
    _started_here.add(name)
    return name


def start_import(client: HealthcareClient, dicom_store: str, body: dict) -> str:
    """Start ``dicomStores.import``; return the operation name (raises JobFailed)."""
    return start(client, JobKind.IMPORT, dicom_store, body)


def start_export(client: HealthcareClient, dicom_store: str, body: dict) -> str:
    """Start ``dicomStores.export``; return the operation name (raises JobFailed)."""
    return start(client, JobKind.of_request(True, body), dicom_store, body)


# -- waiting and the verdict -------------------------------------------------
def judge(status: OperationStatus, max_failed_instances: int,
          targets: Optional[JobTargets] = None) -> OperationStatus:
    """Return a finished operation that counts as success, or raise JobFailed.

    An import that ended without an error but processed no instance at all
    (zero successes, zero failures) is a failure, not a success: the service
    resolves a pattern to zero objects as an error, so a quiet empty import
    means the pattern (named when the caller knows the job's ``targets``) did not
    select what the user meant, and an infrastructure program must not go on
    as if the data were there. Failing is chosen over warning because a
    warning scrolls by in ``pulumi up`` while the stack records a success.
    ``targets`` also lets a permission denial's hint name the role and where.
    """
    kind = JobKind.of_method_name(status.api_method_name)
    job = f"DICOM {kind.verb} job" if kind is not None else "DICOM job"
    code = status.error_code
    if code == apischema.CODE_CANCELLED:
        raise operation_failure("cancelled", f"the {job} was cancelled", status, targets)
    if status.failure > max_failed_instances:
        raise operation_failure(
            "too_many_failures",
            f"the {job} finished with {status.failure} failed instance(s), more than "
            f"max_failed_instances={max_failed_instances}", status, targets)
    if code is not None and status.failure == 0:
        raise operation_failure("operation_error", f"the {job} failed", status, targets)
    if kind is JobKind.IMPORT and code is None and status.success == 0 and status.failure == 0:
        source_uri = targets.source_uri if targets is not None else None
        pattern = f"the pattern {source_uri}" if source_uri else "its gcsSource.uri pattern"
        raise operation_failure(
            "operation_error",
            f"the {job} imported nothing: the operation ended without an error but processed zero "
            f"instances, so {pattern} selected no DICOM object; check the pattern (a folder needs "
            f"'**' or '*.dcm' after its '/')", status, targets)
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
    false) and JobFailed("timeout") names it (and ``reported_timeout`` when the
    caller's budget differs from the time left, as in :func:`run_job`).
    When ``cancel`` is set meanwhile, the wait stops at once: the operation is
    cancelled (unless ``cancel_on_interrupt`` is false) and
    JobFailed("interrupted") names it with its counters.
    """
    schedule = schedule or PollSchedule()

    def probe() -> Optional[OperationStatus]:
        try:
            return get_operation(client, name)
        except (ApiError, TransportError):
            return None  # transient even after retries: keep waiting until the deadline

    def next_delay(status: Optional[OperationStatus], now: float) -> float:
        return schedule.next_delay(status, now) if status is not None else client.retry.maximum

    # this module's clock, the one run_job's deadline is measured on
    waiter: Waiter[OperationStatus] = Waiter(timeout_seconds, next_delay, on_progress=on_progress,
                                             clock=time.monotonic, sleep=client.sleep, cancel=cancel)
    outcome = waiter.run(probe, lambda status: status.done)
    if outcome.done and outcome.last is not None:
        return judge(outcome.last, max_failed_instances, targets)
    if outcome.cancelled:
        raise _interrupted(client, name, outcome.last, cancel_on_interrupt)
    raise _timed_out(client, name, reported_timeout if reported_timeout is not None else timeout_seconds,
                     outcome.last, cancel_on_timeout)


def _cancel_and_settle(client: HealthcareClient, name: str, last: Optional[OperationStatus],
                       settle_s: float) -> tuple[str, Optional[OperationStatus]]:
    """Ask the API to cancel ``name`` and wait up to ``settle_s`` for it to end.

    Returns what happened, as words for a message (``cancelled``, ``cancel
    requested``, or why the cancel failed), and the latest snapshot.
    """
    try:
        cancel_operation(client, name)
        last = _poll_briefly(client, settle_s, lambda: get_operation(client, name), lambda op: op.done)
        return ("cancelled" if last.done else "cancel requested"), last
    except (JobFailed, ApiError, TransportError) as exc:
        return f"cancel failed ({exc}); it may still be running", last


def _timed_out(client: HealthcareClient, name: str, timeout_seconds: float,
               last: Optional[OperationStatus], cancel: bool) -> JobFailed:
    action = "left running (cancel_on_timeout=False)"
    if cancel:
        action, last = _cancel_and_settle(client, name, last, _CANCEL_SETTLE_S)
    headline = (f"the DICOM job did not finish within timeout_seconds={timeout_seconds:g}; "
                f"operation {name} {action}")
    if last is None:
        return JobFailed("timeout", headline)
    return operation_failure("timeout", headline, last)


def _interrupted(client: HealthcareClient, name: str, last: Optional[OperationStatus],
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
        return JobFailed("interrupted", headline)
    return operation_failure("interrupted", headline, last)


# -- the whole job, with the permission retry -----------------------------------
def _grants_not_ready(exc: JobFailed) -> bool:
    op = exc.operation
    return (exc.reason in ("operation_error", "too_many_failures") and op is not None
            and op.error_code == apischema.CODE_PERMISSION_DENIED and op.success == 0)


def run_job(client: HealthcareClient, kind: JobKind, dicom_store: str, body: dict, *,
            timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, max_failed_instances: int = 0,
            permission_retry_seconds: float | None = None,
            on_started: Callable[[str], None] | None = None,
            on_progress: Callable[[OperationStatus], None] | None = None,
            cancel: CancelToken | None = None, cancel_on_interrupt: bool = True) -> OperationStatus:
    """Start a job and wait for it, restarting while fresh IAM grants propagate.

    A run whose operation ends PERMISSION_DENIED with zero successes within
    ``permission_retry_seconds`` (default
    :data:`~pulumi_dicom_jobs.settings.DEFAULT_PERMISSION_RETRY_SECONDS`, env
    :data:`~pulumi_dicom_jobs.settings.PERMISSION_RETRY_ENV`) of the first
    start is started again after a pause along :data:`PERMISSION_RETRY_BACKOFF`;
    ``timeout_seconds`` bounds the whole run. ``cancel`` stops the run
    between polls and during its pauses (see :func:`wait`); once set, no new
    operation is started.
    """
    window = settings.permission_retry_window() if permission_retry_seconds is None \
        else permission_retry_seconds
    first = time.monotonic()
    deadline = first + timeout_seconds
    attempt = 0
    started: list[str] = []
    while True:
        if cancel is not None and cancel.cancelled:
            raise JobFailed("interrupted", f"did not start the DICOM {kind.verb} job: interrupted"
                            + (f" (earlier attempts: {', '.join(started)})" if started else ""))
        name = start(client, kind, dicom_store, body)
        started.append(name)
        if on_started is not None:
            on_started(name)
        try:
            return wait(client, name, timeout_seconds=max(0.0, deadline - time.monotonic()),
                        max_failed_instances=max_failed_instances, on_progress=on_progress,
                        reported_timeout=timeout_seconds, cancel=cancel,
                        cancel_on_interrupt=cancel_on_interrupt,
                        targets=JobTargets.of_request(kind, body))
        except JobFailed as exc:
            now = time.monotonic()
            pause = PERMISSION_RETRY_BACKOFF.equal_jitter(attempt)
            if _grants_not_ready(exc) and now - first < window and now + pause < deadline:
                attempt += 1
                (cancel.sleep if cancel is not None else client.sleep)(
                    min(pause, max(0.0, first + window - now)))
                continue
            if len(started) > 1:
                note = (f"\n(started {len(started)} times over {now - first:.0f}s while waiting for "
                        f"IAM grants to propagate: {', '.join(started)})")
                raise JobFailed(exc.reason, str(exc) + note, exc.operation) from None
            raise
