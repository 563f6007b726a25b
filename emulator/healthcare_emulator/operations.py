"""Long-running operations: starting jobs, their JobContext, rendering, filtering.

Why here and not in the data plane: the data plane only knows a
:class:`~healthcare_emulator.jobcontext.JobContext`; this module owns what an
operation *is* to a client — live ``counter`` values (int64 as JSON strings),
``cancelRequested``, ``sampleErrors`` capped at ``maxSampleErrors``, the
``error``/``response`` outcome, ``logsUrl`` — and the ``operations.list``
filter grammar and paging.
"""

from __future__ import annotations

import base64
import secrets
import threading
import traceback
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Optional

from .errors import invalid
from .jobcontext import JobCancelled, OperationFailed, StoredInstance
from .projects import project_of_resource
from .rpc import CANCELLED, INTERNAL, UNKNOWN
from .state import DicomStore, EmulatorState, OperationRecord, now_utc, rfc3339

IMPORT = "dicom.DicomService.ImportDicomData"
EXPORT = "dicom.DicomService.ExportDicomData"
CREATE_DATASET = "dataset.DatasetService.CreateDataset"

JobFunction = Callable[[Any, dict], Any]


def new_operation_name(dataset_name: str) -> str:
    """A fresh operation name; ids are long decimal numbers, as the real service's are."""
    return f"{dataset_name}/operations/{secrets.randbelow(9 * 10 ** 18) + 10 ** 18}"


# -- rendering ------------------------------------------------------------------------
def _type_url(version: str, message: str) -> str:
    return f"type.googleapis.com/google.cloud.healthcare.{version}.{message}"


def render(record: OperationRecord, base_url: str) -> dict:
    """The Operation resource exactly as ``operations.get`` returns it."""
    metadata: dict[str, Any] = {
        "@type": _type_url(record.api_version, "OperationMetadata"),
        "apiMethodName": record.api_method_name,
        "createTime": rfc3339(record.create_time),
    }
    if record.end_time is not None:
        metadata["endTime"] = rfc3339(record.end_time)
    metadata["logsUrl"] = f"{base_url}/_emulator/logs/{record.name}"
    metadata["cancelRequested"] = record.cancel_requested
    if record.counters is not None:
        # proto3 JSON: int64 values are strings and zero values are omitted.
        metadata["counter"] = {k: str(v) for k, v in record.counters.items() if v}
    out: dict[str, Any] = {"name": record.name, "metadata": metadata, "done": record.done}
    if record.done:
        if record.error is not None:
            out["error"] = record.error
        elif record.response is not None:
            out["response"] = record.response
    return out


# -- the job context ------------------------------------------------------------------
class OperationContext:
    """The :class:`JobContext` a running import/export gets (one per operation)."""

    def __init__(self, state: EmulatorState, record: OperationRecord, store: DicomStore,
                 storage_url: str, bigquery_url: Optional[str]) -> None:
        self._state = state
        self._record = record
        self._store = store
        self.store_name = store.name
        self.api_version = record.api_version
        self.storage_url = storage_url
        self.bigquery_url = bigquery_url

    def require(self, resource: str, access: str) -> None:
        with self._state.lock:
            config = self._state.config
            number = self._state.projects.number(project_of_resource(self.store_name))
            self._state.iam.check(resource, access, project_number=number,
                                  enforce=config["enforceIam"],
                                  propagation_s=config["grantPropagationSeconds"])

    def set_counters(self, success: int, failure: int, pending: int) -> None:
        with self._state.lock:
            self._record.counters = {"success": int(success), "failure": int(failure),
                                     "pending": int(pending)}

    def add_sample_error(self, resource: str, code: int, message: str) -> None:
        with self._state.lock:
            if len(self._record.sample_errors) < self._state.config["maxSampleErrors"]:
                self._record.sample_errors.append(
                    {"resource": resource, "error": {"code": int(code), "message": message}})

    def log(self, severity: str, message: str, resource: Optional[str] = None) -> None:
        with self._state.lock:
            entry = {"severity": severity, "message": message, "resource": resource,
                     "timestamp": rfc3339(now_utc())}
            self._record.logs.append(entry)

    def pace(self) -> None:
        """Spend ``instanceDelaySeconds`` (re-read each time), waking early on cancel."""
        event = self._record.cancel_event
        if event.is_set():
            raise JobCancelled()
        delay = self._state.config["instanceDelaySeconds"]
        if delay > 0 and event.wait(delay):
            raise JobCancelled()

    def store_instance(self, instance: StoredInstance) -> bool:
        return self._state.add_instance(self._store, instance)

    def duplicates_count_as(self) -> str:
        with self._state.lock:
            return self._state.config["countDuplicatesAs"]

    def instances(self) -> Iterable[StoredInstance]:
        return self._state.instances(self._store)


# -- running --------------------------------------------------------------------------
def start_job(state: EmulatorState, record: OperationRecord, store: DicomStore, job: JobFunction,
              body: dict, storage_url: str, bigquery_url: Optional[str], response_type: str,
              error_details_type: str) -> threading.Thread:
    """Register ``record`` and run ``job(ctx, body)`` on a daemon thread.

    ``response_type`` is the full protobuf message name of the ``response``
    a success answers (``google.cloud.healthcare.v1.dicom.ImportDicomDataResponse``,
    ``google.protobuf.Empty``); ``error_details_type`` is relative to the
    API version's package.
    """
    state.add_operation(record)
    ctx = OperationContext(state, record, store, storage_url, bigquery_url)
    thread = threading.Thread(target=_run, name=f"op-{record.name.rsplit('/', 1)[-1]}", daemon=True,
                              args=(state, record, ctx, job, body, response_type, error_details_type))
    thread.start()
    return thread


def _run(state: EmulatorState, record: OperationRecord, ctx: OperationContext, job: JobFunction,
         body: dict, response_type: str, error_details_type: str) -> None:
    error: Optional[dict] = None
    not_counted = 0  # items neither a success nor a failure (duplicates, when so counted)
    try:
        result = job(ctx, body)
        not_counted = getattr(result, "not_counted", 0)
        failure = getattr(result, "failure", None)
        success = getattr(result, "success", None)
        if isinstance(failure, int) and isinstance(success, int):
            ctx.set_counters(success, failure, 0)
        _wait_minimum(state, record)
    except JobCancelled:
        error = {"code": CANCELLED, "message": "Operation was cancelled."}
    except OperationFailed as exc:
        error = {"code": exc.code, "message": exc.message}
    except Exception as exc:  # a data-plane bug must still end the operation
        error = {"code": INTERNAL, "message": f"internal emulator error: {exc!r}"}
        ctx.log("ERROR", traceback.format_exc())
    if error is not None and error["code"] != CANCELLED:
        try:
            _wait_minimum(state, record)
        except JobCancelled:
            error = {"code": CANCELLED, "message": "Operation was cancelled."}
    _finish(state, record, ctx, error, response_type, error_details_type, not_counted)


def _wait_minimum(state: EmulatorState, record: OperationRecord) -> None:
    """Keep the operation running until ``operationMinSeconds`` after its creation."""
    remaining = state.config["operationMinSeconds"] - (now_utc() - record.create_time).total_seconds()
    if remaining > 0 and record.cancel_event.wait(remaining):
        raise JobCancelled()


def _finish(state: EmulatorState, record: OperationRecord, ctx: OperationContext,
            error: Optional[dict], response_type: str, error_details_type: str,
            not_counted: int = 0) -> None:
    with state.lock:
        counters = record.counters or {}
        failures = counters.get("failure", 0)
        if counters.get("pending"):
            counters["pending"] = 0 if error is None else counters["pending"]
        details = ([{"@type": _type_url(record.api_version, error_details_type),
                     "sampleErrors": list(record.sample_errors)}] if record.sample_errors else [])
        if error is None and failures:
            first = record.sample_errors[0]["error"]["code"] if record.sample_errors else UNKNOWN
            total = counters.get("success", 0) + failures + not_counted
            error = {"code": first,
                     "message": f"{failures} of {total} item(s) failed; see sampleErrors and the "
                                f"operation's logs for details."}
        if error is not None:
            record.error = {**error, **({"details": details} if details else {})}
            ctx.log("ERROR" if error["code"] != CANCELLED else "WARNING",
                    f"operation finished with error code {error['code']}: {error['message']}")
        else:
            record.response = {"@type": f"type.googleapis.com/{response_type}"}
            ctx.log("INFO", "operation finished successfully")
        record.end_time = now_utc()
        record.done = True
        if record.generation == state.generation and record.name in state.operations:
            state.save()


def request_cancel(state: EmulatorState, record: OperationRecord) -> None:
    """Best-effort cancel: the job stops at its next ``pace()`` (or minimum-duration wait)."""
    with state.lock:
        if record.done:
            return
        record.cancel_requested = True
        record.cancel_event.set()


def finished_history(dataset: str, count: int, now: datetime) -> list[OperationRecord]:
    """``count`` finished imports in ``dataset``, as a long-lived dataset remembers them.

    Oldest first, one second each, back to back, the last ending an hour before
    ``now``: older than any in-flight grace period or adoption window, so a
    client's start has to read them and may act on none (the start-cost bench,
    ``POST /_emulator/operations/history``).
    """
    first = now - timedelta(hours=1, seconds=count)
    records = []
    for index in range(count):
        created = first + timedelta(seconds=index)
        records.append(OperationRecord(
            name=new_operation_name(dataset), api_version="v1", method=IMPORT,
            request={"gcsSource": {"uri": "gs://history/**.dcm"}}, store=None, create_time=created,
            end_time=created + timedelta(seconds=1), done=True,
            counters={"success": 1, "failure": 0, "pending": 0},
            response={"@type": "type.googleapis.com/google.cloud.healthcare.v1.dicom.ImportDicomDataResponse"}))
    return records


# -- operations.list: filter and paging -------------------------------------------------
def refuse_filter(text: Optional[str]) -> None:
    """400 for any ``filter``: the API documents none for ``operations.list``.

    The discovery document describes the parameter only as "the standard list
    filter" and no page gives its grammar, so the emulator accepts no filter at
    all (as a strict service would refuse one it does not understand): a client
    that needed one here would silently change meaning on Google Cloud. An
    empty value is the same as none.
    """
    if text and text.strip():
        raise invalid(f"filter: {text!r} is not supported: operations.list documents no filter "
                      "grammar; list without a filter and select on each operation's metadata")


def page(items: list, page_size: Optional[str], page_token: Optional[str],
         default_size: int = 100, max_size: int = 1000) -> tuple[list, Optional[str]]:
    """One page of ``items`` and the token of the next one (None on the last page)."""
    try:
        size = int(page_size) if page_size not in (None, "") else 0
    except ValueError:
        raise invalid(f"pageSize must be an integer, got {page_size!r}") from None
    if size < 0:
        raise invalid("pageSize must not be negative")
    size = min(size or default_size, max_size)
    offset = 0
    if page_token:
        try:
            decoded = base64.urlsafe_b64decode(page_token.encode() + b"==").decode()
            if not decoded.startswith("offset:"):
                raise ValueError(decoded)
            offset = int(decoded[len("offset:"):])
        except ValueError:
            raise invalid(f"pageToken {page_token!r} is invalid") from None
    chunk = items[offset:offset + size]
    following = offset + size
    token = (base64.urlsafe_b64encode(f"offset:{following}".encode()).decode().rstrip("=")
             if following < len(items) else None)
    return chunk, token
