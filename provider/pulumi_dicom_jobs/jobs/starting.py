"""Starting a job: the in-flight check, the POST, and adoption after a lost answer.

Why these rules (the full story: docs/lifecycle.md, "Starting a job"):

* Before the POST, an older operation of the same kind still running in the
  dataset (say from a provider host killed mid-wait) fails the start instead
  of being adopted or duplicated: the API cannot tell whose an operation is.
  Operations this process started are never counted (siblings of one
  ``pulumi up`` share the host), and a grace period spares other processes'
  jobs started at nearly the same moment.
* A POST whose answer was lost may have started an operation; a second one
  would double the work (duplicate rows with ``WRITE_APPEND``). So the
  dataset's operations are listed for a settle period and the one started
  since just before the POST is adopted; only when none appears is the POST
  sent again, and several candidates fail the start naming them.
* Each listing reads every page: the API documents neither a filter nor an
  order, and no rule here can stop early on a start that succeeds. So what a
  start costs is counted in listings, and bounded: one before the POST, at
  most :data:`SETTLE_LISTINGS` per lost answer, at most
  :data:`MAX_START_ATTEMPTS` POSTs (docs/lifecycle.md, "What a start costs").
"""

from __future__ import annotations

import datetime as _dt
import threading
from typing import Any, Mapping

from pulumi_dicom_jobs import names, settings
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.errors import (AmbiguousRequestError, ApiError, CredentialsError, NotFound,
                                          TransportError, Unauthenticated)
from pulumi_dicom_jobs.failures import FailureReason, JobFailed, JobInFlight, permission_hint
from pulumi_dicom_jobs.jobs.operations import poll_briefly
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.status import counters_text
from pulumi_dicom_jobs.lro.waiter import steady_pauses
from pulumi_dicom_jobs.timestamps import parse_rfc3339

__all__ = ["start", "start_import", "start_export", "check_in_flight", "CLOCK_SKEW_MARGIN_S",
           "MAX_START_ATTEMPTS", "START_SETTLE_S", "START_SETTLE_MAX_S", "SETTLE_LISTINGS"]

#: How far before the POST the operations listing looks (client/server clock skew).
CLOCK_SKEW_MARGIN_S = 5.0
#: How many times an unprocessed start POST is sent again after reconciliation.
MAX_START_ATTEMPTS = 4
#: The settle period after a lost start answer, and its cap after a timeout
#: (twice the read timeout: the server may still hold the request).
START_SETTLE_S = 3.0
START_SETTLE_MAX_S = 30.0
#: The most listings one settle makes: at once, halfway, and one that starts at
#: its end or later. Each reads every page (the API documents no order), so on a
#: long history this, not the settle's length, is the cost of a lost answer.
SETTLE_LISTINGS = 3


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
    return JobFailed(FailureReason.START_FAILED, text + (f"\n{hint}" if hint else ""))


def check_in_flight(client: HealthcareClient, dicom_store: str, kind: JobKind) -> None:
    """Raise JobInFlight when ``dicom_store``'s dataset runs an older job of this kind.

    Older: created more than the grace period before now (an operation
    without a readable createTime counts as older). Why: the module docstring.
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
        raise JobFailed(FailureReason.START_FAILED, (
            f"could not start the DICOM {kind.verb} job: {exc.message} (the API answered "
            f"{exc.http_status} {exc.status} for the dataset {dataset})")) from None
    except Unauthenticated as exc:
        raise _start_failed(kind, exc) from None  # the start would fail alike: not the check's doing
    except TransportError as exc:  # the start would fail alike; say why the request was a listing
        raise JobFailed(FailureReason.START_FAILED, (
            f"could not start the DICOM {kind.verb} job: its first request, which lists the dataset's "
            f"operations to check that no {kind.verb} is already running there (GET {dataset}/operations), "
            f"failed: {exc}")) from None
    except ApiError as exc:
        raise JobFailed(FailureReason.START_FAILED, (
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
                     f"{counters_text(op)})")
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
                settle = _settle_seconds(client, exc)
                candidates = poll_briefly(client, settle, lambda: _adopt(client, dataset, method, before), bool,
                                          steady_pauses(settle / (SETTLE_LISTINGS - 1)))
            except (ApiError, TransportError) as list_exc:
                raise JobFailed(FailureReason.START_FAILED,
                                f"could not start the DICOM {what} job: the start request got no reliable "
                                f"answer ({exc.cause}) and listing the dataset's operations to find out "
                                f"failed: {list_exc}") from None
            if len(candidates) == 1:
                return candidates[0]
            if candidates:
                raise JobFailed(FailureReason.START_FAILED, (
                    f"could not tell which DICOM {what} job was started: the start request got no "
                    f"reliable answer ({exc.cause}) and {len(candidates)} operations of the same kind "
                    f"started on {dataset} since then: {', '.join(candidates)}. Check them (one is "
                    "probably this job's), cancel duplicates, then import the right one into the "
                    "stack by its operation name or run again."))
            continue  # nothing started: sending the POST again is safe
        except (ApiError, TransportError) as exc:
            raise _start_failed(kind, exc) from None
        if not name:
            raise JobFailed(FailureReason.START_FAILED, f"could not start the DICOM {what} job: the answer "
                                            "named no operation")
        return name
    raise JobFailed(FailureReason.START_FAILED, f"could not start the DICOM {what} job: {MAX_START_ATTEMPTS} "
                                    "start requests got no reliable answer and none started an operation")


def start(client: HealthcareClient, kind: JobKind, dicom_store: str, body: Mapping[str, Any]) -> str:
    """Start a job of ``kind``; return the operation name (raises JobFailed).

    Checks for an older operation of the same kind first (:func:`check_in_flight`)
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
