"""Start a DICOM import/export job and wait for it: the one code path for both
the dynamic providers and the ``dicom-jobs`` CLI.

Flow of :func:`run_job`::

    GET {dataset}/operations?filter=done = false AND metadata.api_method_name = "..."
      a not-done operation of the same kind older than the grace period?
                       -> JobFailed("in_flight") naming it; no POST (see below)
    POST {dicomStore}:import|:export          (start_import / start_export)
      ambiguous answer? -> list the dataset's operations started since just
      before the POST and adopt the one we started (see _start)
    GET {operation} until done                 (wait, smart PollSchedule)
      timeout          -> POST {operation}:cancel, JobFailed("timeout")
      error / failures -> JobFailed with code, text, counters, samples, logs URL
      PERMISSION_DENIED, nothing imported, within the propagation window
                       -> start again with backoff (fresh IAM grants lag)

Why adopt instead of retrying the POST: a POST whose answer was lost may have
started an operation. Starting a second import would double the work (and a
second export to BigQuery with WRITE_APPEND would duplicate rows). The
operations list, filtered on ``metadata.api_method_name`` and
``metadata.create_time >= (time just before the POST - CLOCK_SKEW_MARGIN_S)``,
says what started: exactly one candidate is adopted; several (another job of
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
:data:`IN_FLIGHT_GRACE_SECONDS` ago are listed; if there are any, nothing is
started and JobFailed("in_flight") names each one (createTime, counters),
says it may be this job's own operation from an interrupted run, and how to
proceed (``dicom-jobs wait OP`` or ``dicom-jobs cancel OP``, then run again).
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
passes would defeat its purpose.

Credentials are looked up when a :class:`HealthcareClient` first sends a
request and live only as long as the client.
"""

from __future__ import annotations

import datetime as _dt
import os
import random
import threading
import time
from typing import Any, Callable, Iterator, Optional, TypeVar

from pulumi_dicom_jobs import apischema, auth
from pulumi_dicom_jobs.errors import JobFailed, operation_failure, permission_hint
from pulumi_dicom_jobs.operations import OperationStatus, PollSchedule
from pulumi_dicom_jobs.transport import (AmbiguousRequestError, ApiError, RetryPolicy, Transport,
                                         TransportError, http_timeout)

__all__ = [
    "OperationStatus", "JobFailed", "OperationNotFound", "HealthcareClient", "start_import",
    "start_export", "get_operation", "cancel_operation", "list_operations", "wait", "run_job",
    "DEFAULT_TIMEOUT_SECONDS", "DEFAULT_PERMISSION_RETRY_SECONDS", "PERMISSION_RETRY_ENV",
    "IN_FLIGHT_GRACE_SECONDS", "IN_FLIGHT_GRACE_ENV", "IN_FLIGHT_CHECK_ENV", "check_in_flight",
]

#: Default time a create may wait: large imports run for hours.
DEFAULT_TIMEOUT_SECONDS = 6 * 3600
#: For how long after the first start a PERMISSION_DENIED with zero successes
#: is treated as "grants not propagated yet" and the job is started again.
DEFAULT_PERMISSION_RETRY_SECONDS = 120.0
#: Environment override of that window (seconds; 0 disables the retry).
PERMISSION_RETRY_ENV = "DICOM_JOBS_PERMISSION_RETRY_SECONDS"
#: How far before the POST the operations listing looks (client/server clock skew).
CLOCK_SKEW_MARGIN_S = 5.0
#: How many times an unprocessed start POST is sent again after reconciliation.
MAX_START_ATTEMPTS = 4
#: The settle period after a lost start answer, and its cap after a timeout
#: (module docstring).
START_SETTLE_S = 3.0
START_SETTLE_MAX_S = 30.0
#: Not-done operations of the same kind created less than this many seconds
#: before a start are taken for siblings started by the same ``pulumi up``,
#: not for a leftover of an interrupted run (module docstring).
IN_FLIGHT_GRACE_SECONDS = 30.0
#: Environment override of the grace period (seconds), read at each start.
IN_FLIGHT_GRACE_ENV = "DICOM_JOBS_IN_FLIGHT_GRACE_SECONDS"
#: ``off`` (or ``0``, ``false``, ``no``) disables the in-flight check.
IN_FLIGHT_CHECK_ENV = "DICOM_JOBS_IN_FLIGHT_CHECK"
#: After a timeout's cancel, how long to wait for the final counters.
_CANCEL_SETTLE_S = 10.0

_T = TypeVar("_T")


class OperationNotFound(JobFailed):
    """The API no longer knows the operation (404)."""

    def __init__(self, name: str) -> None:
        super().__init__("vanished", f"operation {name} is not known to the API (404): it expired "
                                     "or was deleted", None)
        self.name = name


class HealthcareClient:
    """Where and how to reach the Healthcare API; HTTP and credentials are lazy.

    ``HEALTHCARE_EMULATOR_HOST`` (``host:port``) wins over ``api_endpoint``:
    plain HTTP to that host with a dummy bearer token. ``timeout`` (connect,
    read) seconds; None: the transport's default or ``DICOM_JOBS_HTTP_TIMEOUT``
    (see :mod:`pulumi_dicom_jobs.transport`).
    """

    def __init__(self, api_endpoint: str | None = None, api_version: str = "v1", *,
                 retry: RetryPolicy | None = None, timeout: tuple[float, float] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if api_version not in apischema.API_VERSIONS:
            raise ValueError(f"api_version must be one of {apischema.API_VERSIONS}, got {api_version!r}")
        host = auth.emulator_host()
        if host:
            self.base_url = host if host.startswith(("http://", "https://")) else f"http://{host}"
            self.emulated = True
        else:
            self.base_url = (api_endpoint or apischema.DEFAULT_ENDPOINT).rstrip("/")
            self.emulated = False
        self.api_version = api_version
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.sleep = sleep
        self._transport: Optional[Transport] = None

    def __repr__(self) -> str:
        return f"HealthcareClient({self.base_url!r}, {self.api_version!r})"

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = Transport(self.base_url, auth.token_source(self.emulated), self.retry,
                                        self.timeout, self.sleep)
        return self._transport

    def request(self, method: str, resource: str, *, params: dict | None = None,
                json: Any = None, idempotent: bool = True) -> dict:
        """``method`` on ``/{api_version}/{resource}``."""
        return self.transport.request(method, f"{self.api_version}/{resource}", params=params,
                                      json=json, idempotent=idempotent)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def __enter__(self) -> "HealthcareClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- helpers -----------------------------------------------------------------
def dataset_of(name: str) -> str:
    """``projects/.../datasets/D`` of a store or operation name."""
    for marker in ("/dicomStores/", "/operations/"):
        if marker in name:
            return name.split(marker, 1)[0]
    return name


def _rfc3339(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _start_failed(what: str, exc: BaseException) -> JobFailed:
    text = f"could not start the DICOM {what} job: {exc}"
    hint = permission_hint(str(exc))
    return JobFailed("start_failed", text + (f"\n{hint}" if hint else ""))


# -- API calls ------------------------------------------------------------------
def list_operations(client: HealthcareClient, dataset: str, filter_: str | None = None,
                    page_size: int = 100) -> Iterator[OperationStatus]:
    """Every operation of ``dataset`` matching ``filter_`` (all pages)."""
    token: Optional[str] = None
    while True:
        params: dict[str, Any] = {"pageSize": page_size}
        if filter_:
            params["filter"] = filter_
        if token:
            params["pageToken"] = token
        page = client.request("GET", f"{dataset}/operations", params=params)
        for raw in page.get("operations") or []:
            yield OperationStatus.from_json(raw)
        token = page.get("nextPageToken")
        if not token:
            return


def _adopt(client: HealthcareClient, dataset: str, method: str, since: _dt.datetime) -> list[str]:
    """Candidates for the operation a lost POST started: same kind, started since ``since``.

    Operations this process already knows it started (siblings) are not candidates.
    """
    filter_ = (f'metadata.api_method_name = "{method}" AND '
               f'metadata.create_time >= "{_rfc3339(since)}"')
    return [op.name for op in list_operations(client, dataset, filter_)
            if op.name not in _started_here]


def _settle_seconds(client: HealthcareClient, lost: AmbiguousRequestError) -> float:
    """How long a lost start answer may take to show up as an operation."""
    if not lost.timed_out:
        return START_SETTLE_S
    read_timeout = (client.timeout or http_timeout())[1]
    return min(START_SETTLE_MAX_S, max(START_SETTLE_S, 2 * read_timeout))


def _poll_briefly(client: HealthcareClient, seconds: float, probe: Callable[[], _T],
                  settled: Callable[[_T], bool]) -> _T:
    """``probe()`` until ``settled`` says yes or ``seconds`` pass; the last result.

    For the short waits around a start or a cancel (not the job wait, which
    has its schedule): pauses double from 0.2 s to 2 s, and the last probe
    comes at the deadline.
    """
    until = time.monotonic() + seconds
    delay = 0.2
    while True:
        result = probe()
        if settled(result) or time.monotonic() >= until:
            return result
        client.sleep(min(delay, max(0.0, until - time.monotonic())))
        delay = min(delay * 2, 2.0)


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


def in_flight_grace_seconds() -> float:
    """The grace period from the environment, else :data:`IN_FLIGHT_GRACE_SECONDS`."""
    try:
        return max(0.0, float(os.environ[IN_FLIGHT_GRACE_ENV]))
    except (KeyError, ValueError):
        return IN_FLIGHT_GRACE_SECONDS


def in_flight_check_enabled() -> bool:
    value = os.environ.get(IN_FLIGHT_CHECK_ENV, "").strip().lower()
    return value not in ("off", "0", "false", "no", "disabled")


def _parse_rfc3339(value: Optional[str]) -> Optional[_dt.datetime]:
    if not value:
        return None
    try:
        moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)


def check_in_flight(client: HealthcareClient, dicom_store: str, method: str, what: str) -> None:
    """Raise JobFailed("in_flight") when ``dicom_store``'s dataset runs an older job of this kind.

    Older: created more than the grace period before now (an operation
    without a readable createTime counts as older). See the module docstring.
    """
    if not in_flight_check_enabled():
        return
    dataset = dataset_of(dicom_store)
    grace = in_flight_grace_seconds()
    cutoff = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=grace)
    filter_ = f'done = false AND metadata.api_method_name = "{method}"'
    try:
        running = list(list_operations(client, dataset, filter_))
    except (ApiError, TransportError) as exc:
        raise JobFailed("start_failed", (
            f"could not start the DICOM {what} job: listing the operations of {dataset} to check "
            f"for a job of the same kind still running (for instance from an interrupted run) "
            f"failed: {exc}. Set {IN_FLIGHT_CHECK_ENV}=off to start without this check.")) from None
    older = []
    for op in running:
        created = _parse_rfc3339(op.create_time)
        if op.done or op.name in _started_here:
            continue  # a sibling this process started: not an interrupted run's
        if created is None or created <= cutoff:
            older.append(op)
    if not older:
        return
    flag = "" if client.api_version == "v1" else f" --api-version {client.api_version}"
    lines = [f"did not start the DICOM {what} job: {len(older)} operation(s) of the same kind "
             f"({method}) started more than {grace:g}s ago and still running on {dataset}:"]
    for op in older:
        lines.append(f"  - {op.name} (created {op.create_time or 'at an unknown time'}; counters: "
                     f"success={op.success} failure={op.failure} pending={op.pending})")
    lines.append(
        "It may be this job's own operation from an interrupted run (for instance the Pulumi "
        "provider host was killed while waiting); the API cannot tell whose it is, so no second "
        "operation was started.")
    op_ref = older[0].name if len(older) == 1 else "OPERATION"
    lines.append(
        f"To proceed: wait for {'it' if len(older) == 1 else 'each'} to finish "
        f"(dicom-jobs wait {op_ref}{flag}) or cancel it (dicom-jobs cancel {op_ref}{flag}), then "
        f"run again. If these are unrelated jobs you mean to run concurrently in this dataset, "
        f"set {IN_FLIGHT_CHECK_ENV}=off.")
    raise JobFailed("in_flight", "\n".join(lines))


def _start(client: HealthcareClient, dicom_store: str, verb: str, body: dict, method: str) -> str:
    what = "import" if verb == "import" else "export"
    check_in_flight(client, dicom_store, method, what)
    name = _post_start(client, dicom_store, verb, body, method, what)
    _started_here.add(name)
    return name


def _post_start(client: HealthcareClient, dicom_store: str, verb: str, body: dict, method: str,
                what: str) -> str:
    """The starting POST, adopting the operation it started when its answer was lost."""
    dataset = dataset_of(dicom_store)
    for _attempt in range(MAX_START_ATTEMPTS):
        before = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=CLOCK_SKEW_MARGIN_S)
        try:
            answer = client.request("POST", f"{dicom_store}:{verb}", json=body, idempotent=False)
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
            if len(candidates) > 1:
                raise JobFailed("start_failed", (
                    f"could not tell which DICOM {what} job was started: the start request got no "
                    f"reliable answer ({exc.cause}) and {len(candidates)} operations of the same kind "
                    f"started on {dataset} since then: {', '.join(candidates)}. Check them (one is "
                    "probably this job's), cancel duplicates, then import the right one into the "
                    "stack by its operation name or run again."))
            continue  # nothing started: sending the POST again is safe
        except (ApiError, TransportError) as exc:
            raise _start_failed(what, exc) from None
        name = answer.get("name")
        if not name:
            raise JobFailed("start_failed", f"could not start the DICOM {what} job: the answer "
                                            "named no operation")
        return str(name)
    raise JobFailed("start_failed", f"could not start the DICOM {what} job: {MAX_START_ATTEMPTS} "
                                    "start requests got no reliable answer and none started an operation")


def start_import(client: HealthcareClient, dicom_store: str, body: dict) -> str:
    """Start ``dicomStores.import``; return the operation name (raises JobFailed)."""
    return _start(client, dicom_store, "import", body,
                  apischema.method_name(client.api_version, export=False))


def start_export(client: HealthcareClient, dicom_store: str, body: dict) -> str:
    """Start ``dicomStores.export``; return the operation name (raises JobFailed)."""
    bigquery = body.get("bigqueryDestination") is not None
    return _start(client, dicom_store, "export", body,
                  apischema.method_name(client.api_version, export=True, bigquery=bigquery))


def get_operation(client: HealthcareClient, name: str) -> OperationStatus:
    """One snapshot. Raises :class:`OperationNotFound` on 404, ApiError/TransportError otherwise."""
    try:
        return OperationStatus.from_json(client.request("GET", name))
    except ApiError as exc:
        if exc.http_status == 404:
            raise OperationNotFound(name) from None
        raise


def cancel_operation(client: HealthcareClient, name: str) -> None:
    """Ask the API to cancel ``name`` (safe to repeat)."""
    try:
        client.request("POST", f"{name}:cancel", json={})
    except ApiError as exc:
        if exc.http_status == 404:
            raise OperationNotFound(name) from None
        raise


# -- waiting ------------------------------------------------------------------
def _kind(status: OperationStatus) -> str:
    method = status.api_method_name or ""
    return "export" if "Export" in method else "import" if "Import" in method else ""


def judge(status: OperationStatus, max_failed_instances: int) -> OperationStatus:
    """Return a finished operation that counts as success, or raise JobFailed."""
    job = f"DICOM {_kind(status)} job".replace("  ", " ")
    code = status.error_code
    if code == apischema.CODE_CANCELLED:
        raise operation_failure("cancelled", f"the {job} was cancelled", status)
    if status.failure > max_failed_instances:
        raise operation_failure(
            "too_many_failures",
            f"the {job} finished with {status.failure} failed instance(s), more than "
            f"max_failed_instances={max_failed_instances}", status)
    if code is not None and status.failure == 0:
        raise operation_failure("operation_error", f"the {job} failed", status)
    return status


def wait(client: HealthcareClient, name: str, *, timeout_seconds: float, max_failed_instances: int = 0,
         on_progress: Callable[[OperationStatus], None] | None = None,
         cancel_on_timeout: bool = True, schedule: PollSchedule | None = None,
         reported_timeout: float | None = None) -> OperationStatus:
    """Poll ``name`` until done; return it if it counts as success, else raise JobFailed.

    Done with failures is success when ``failure <= max_failed_instances``.
    On timeout the operation is cancelled (unless ``cancel_on_timeout`` is
    false) and JobFailed("timeout") names it (and ``reported_timeout`` when the
    caller's budget differs from the time left, as in :func:`run_job`).
    """
    schedule = schedule or PollSchedule()
    deadline = time.monotonic() + max(0.0, timeout_seconds)
    last: Optional[OperationStatus] = None
    while True:
        try:
            status = get_operation(client, name)
        except OperationNotFound:
            raise
        except (ApiError, TransportError):
            status = None  # transient even after retries: keep waiting until the deadline
        if status is not None:
            last = status
            if on_progress is not None:
                try:
                    on_progress(status)
                except Exception:  # a progress callback must not abort the job
                    pass
            if status.done:
                return judge(status, max_failed_instances)
        now = time.monotonic()
        if now >= deadline:
            raise _timed_out(client, name, reported_timeout if reported_timeout is not None
                             else timeout_seconds, last, cancel_on_timeout)
        delay = schedule.next_delay(status, now) if status is not None else client.retry.maximum
        client.sleep(min(delay, deadline - now))


def _timed_out(client: HealthcareClient, name: str, timeout_seconds: float,
               last: Optional[OperationStatus], cancel: bool) -> JobFailed:
    action = "left running (cancel_on_timeout=False)"
    if cancel:
        try:
            cancel_operation(client, name)
            action = "cancel requested"
            last = _poll_briefly(client, _CANCEL_SETTLE_S, lambda: get_operation(client, name),
                                 lambda op: op.done)
            if last.done:
                action = "cancelled"
        except (JobFailed, ApiError, TransportError) as exc:
            action = f"cancel failed ({exc}); it may still be running"
    headline = (f"the DICOM job did not finish within timeout_seconds={timeout_seconds:g}; "
                f"operation {name} {action}")
    if last is None:
        return JobFailed("timeout", headline)
    return operation_failure("timeout", headline, last)


def permission_retry_window() -> float:
    """The propagation window from the environment, else the default."""
    try:
        return max(0.0, float(os.environ[PERMISSION_RETRY_ENV]))
    except (KeyError, ValueError):
        return DEFAULT_PERMISSION_RETRY_SECONDS


def _grants_not_ready(exc: JobFailed) -> bool:
    op = exc.operation
    return (exc.reason in ("operation_error", "too_many_failures") and op is not None
            and op.error_code == apischema.CODE_PERMISSION_DENIED and op.success == 0)


def run_job(client: HealthcareClient, dicom_store: str, body: dict, *, export: bool,
            timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, max_failed_instances: int = 0,
            permission_retry_seconds: float | None = None,
            on_started: Callable[[str], None] | None = None,
            on_progress: Callable[[OperationStatus], None] | None = None) -> OperationStatus:
    """Start a job and wait for it, restarting while fresh IAM grants propagate.

    A run whose operation ends PERMISSION_DENIED with zero successes within
    ``permission_retry_seconds`` (default :data:`DEFAULT_PERMISSION_RETRY_SECONDS`,
    env :data:`PERMISSION_RETRY_ENV`) of the first start is started again
    after a jittered, growing pause; ``timeout_seconds`` bounds the whole run.
    """
    window = permission_retry_window() if permission_retry_seconds is None else permission_retry_seconds
    first = time.monotonic()
    deadline = first + timeout_seconds
    attempt = 0
    started: list[str] = []
    while True:
        name = (start_export if export else start_import)(client, dicom_store, body)
        started.append(name)
        if on_started is not None:
            on_started(name)
        try:
            return wait(client, name, timeout_seconds=max(0.0, deadline - time.monotonic()),
                        max_failed_instances=max_failed_instances, on_progress=on_progress,
                        reported_timeout=timeout_seconds)
        except JobFailed as exc:
            now = time.monotonic()
            pause = min(30.0, 2.0 * (2 ** attempt)) * random.uniform(0.5, 1.0)
            if _grants_not_ready(exc) and now - first < window and now + pause < deadline:
                attempt += 1
                client.sleep(min(pause, max(0.0, first + window - now)))
                continue
            if len(started) > 1:
                note = (f"\n(started {len(started)} times over {now - first:.0f}s while waiting for "
                        f"IAM grants to propagate: {', '.join(started)})")
                raise JobFailed(exc.reason, str(exc) + note, exc.operation) from None
            raise
