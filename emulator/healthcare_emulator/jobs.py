"""Import and export jobs, run to completion: the emulator's data plane.

Why apart from the routes and the operations: a job is the long part of a
request. The service layer has already checked the request
(:mod:`healthcare_emulator.job_requests`, a 400 before any operation) and
started an operation; it then runs :func:`run_import` / :func:`run_export`
in a worker with a :class:`~healthcare_emulator.jobcontext.JobContext`,
through which alone a job reports. What import reads and export writes:
docs/emulator.md#dicom-data.

Contract with the service layer:

* progress goes only through the context (``set_counters`` after every item,
  ``add_sample_error`` + ``log`` for every failed item); only the calling
  thread touches the context, worker threads do network I/O and DICOM work;
* a per-item failure is a sample error with code INVALID_ARGUMENT and never
  an exception; the run function returns a :class:`JobResult` and the
  service layer turns ``failure > 0`` into the operation's ``error``;
* a failure of the whole operation (missing bucket, dataset or filter file,
  an existing table the write disposition may not write, an import pattern
  that resolves to zero objects) raises
  :class:`~healthcare_emulator.jobcontext.OperationFailed`;
  ``PermissionDenied`` comes from ``ctx.require`` and ``JobCancelled`` from
  ``ctx.pace`` and are left to propagate.

Items are processed with a small bounded thread pool (:data:`WORKERS`
threads, :data:`WINDOW` items in flight) so that network I/O overlaps the
bookkeeping; ``ctx.pace()`` is still called once per item, before it is
started, so the configured per-instance delay and cancellation behave as for
a sequential job. The pool is deliberately small: ``gcp-storage-emulator``
serves concurrent connections far slower than one busy connection (measured:
300 reads took 0.7 s with one worker, 5.5 s with eight).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar

from . import bigquery as bq
from .bigquery_rows import bigquery_row, bigquery_schema
from .dicom_file import DicomError, parse_instance
from .export_encoding import encode_for_export
from .filters import ResourceFilter, load_filter
from .gcs import BucketNotFound, GcsClient, GcsError, split_gs_uri
from .jobcontext import DUPLICATES_AS_SUCCESS, JobContext, OperationFailed, StoredInstance
from .job_requests import validate_export_request, validate_import_request
from .rpc import FAILED_PRECONDITION, INVALID_ARGUMENT, NOT_FOUND, UNKNOWN
from .wildcards import parse_import_uri

WORKERS = 2
WINDOW = 8

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class JobResult:
    """Final counters of a finished job (also already published through the context)."""

    success: int
    failure: int
    not_counted: int = 0


# -- the item loop ------------------------------------------------------------------
@dataclass(frozen=True)
class _Outcome:
    value: Any = None
    error: Optional[str] = None


class _NotCounted:
    """What ``finish`` answers for an item that is neither a success nor a failure."""


#: A re-imported duplicate while ``countDuplicatesAs`` is ``nothing``: it leaves ``pending``
#: and moves no other counter.
NOT_COUNTED = _NotCounted()


def _run_items(ctx: JobContext, items: Sequence[T], work: Callable[[T], R],
               finish: Callable[[T, R], Optional[str] | _NotCounted],
               resource_of: Callable[[T], str]) -> JobResult:
    """Run ``work`` on a pool, ``finish`` on this thread; publish counters after each item.

    ``work`` raising :class:`DicomError`, :class:`GcsError` or ValueError
    (or ``finish`` returning a message) makes that item a failure;
    ``finish`` returning :data:`NOT_COUNTED` makes it neither.
    """
    total = len(items)
    success = failure = not_counted = 0
    ctx.set_counters(0, 0, total)

    def guarded(item: T) -> _Outcome:
        try:
            return _Outcome(value=work(item))
        except (DicomError, GcsError, ValueError) as exc:
            return _Outcome(error=str(exc))

    def settle(item: T, outcome: _Outcome) -> None:
        nonlocal success, failure, not_counted
        error = outcome.error
        if error is None:
            error = finish(item, outcome.value)
        if error is NOT_COUNTED:
            not_counted += 1
        elif error is None:
            success += 1
        else:
            failure += 1
            resource = resource_of(item)
            ctx.add_sample_error(resource, INVALID_ARGUMENT, error)
            ctx.log("ERROR", error, resource)
        ctx.set_counters(success, failure, total - success - failure - not_counted)

    in_flight: deque[tuple[T, Future]] = deque()
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="dicom-job") as pool:
        try:
            for item in items:
                ctx.pace()
                in_flight.append((item, pool.submit(guarded, item)))
                while len(in_flight) >= WINDOW or (in_flight and in_flight[0][1].done()):
                    done_item, future = in_flight.popleft()
                    settle(done_item, future.result())
            while in_flight:
                done_item, future = in_flight.popleft()
                settle(done_item, future.result())
        finally:
            for _, future in in_flight:
                future.cancel()
    return JobResult(success, failure, not_counted)


# -- import ------------------------------------------------------------------------
def _storage_class(body: Mapping[str, Any]) -> Optional[str]:
    value = (body.get("blobStorageSettings") or {}).get("blobStorageClass")
    return None if value in (None, "", "BLOB_STORAGE_CLASS_UNSPECIFIED") else value


def run_import(ctx: JobContext, body: Mapping[str, Any]) -> JobResult:
    """Run an ImportDicomData request to completion.

    Reads every object selected by ``gcsSource.uri``; each valid DICOM file is
    stored, each invalid one is a sample error on ``gs://bucket/object``. An
    instance already in the store is ignored, never overwritten, and counted as
    ``ctx.duplicates_count_as()`` says: not at all, or as a success.
    """
    validate_import_request(body)
    pattern = parse_import_uri(body["gcsSource"]["uri"])
    ctx.require(f"gs://{pattern.bucket}", "read")
    gcs = GcsClient(ctx.storage_url)
    try:
        names = [obj.name for obj in gcs.list_objects(pattern.bucket, pattern.prefix)
                 if pattern.matches(obj.name) and not (obj.name.endswith("/") and obj.size == 0)]
    except BucketNotFound as exc:
        raise OperationFailed(NOT_FOUND, str(exc)) from None
    except GcsError as exc:
        raise OperationFailed(UNKNOWN, f"cannot list gs://{pattern.bucket}: {exc}") from None
    uri = body["gcsSource"]["uri"]
    if not names:
        raise OperationFailed(NOT_FOUND, f"gcsSource.uri {uri} resolved to zero objects: nothing in "
                                         f"bucket {pattern.bucket} matches the pattern, so nothing was "
                                         "imported")
    ctx.log("INFO", f"importing {len(names)} object(s) matching {uri}")
    storage_class = _storage_class(body)

    def fetch(name: str) -> StoredInstance:
        data = gcs.read_object(pattern.bucket, name)
        parsed = parse_instance(data)
        return StoredInstance(parsed.study_uid, parsed.series_uid, parsed.sop_uid, data, storage_class)

    def store(name: str, instance: StoredInstance) -> Optional[str] | _NotCounted:
        if ctx.store_instance(instance):
            return None
        counted = ctx.duplicates_count_as() == DUPLICATES_AS_SUCCESS
        ctx.log("INFO", f"instance {instance.sop_uid} is already in the store: this copy was ignored "
                        f"({'counted as a success' if counted else 'not counted'})",
                f"gs://{pattern.bucket}/{name}")
        return None if counted else NOT_COUNTED

    return _run_items(ctx, names, fetch, store, lambda name: f"gs://{pattern.bucket}/{name}")


# -- export ------------------------------------------------------------------------
def instance_path(store_name: str, instance: StoredInstance) -> str:
    """The DICOMweb path of an instance, used as the sample-error resource."""
    return (f"{store_name}/dicomWeb/studies/{instance.study_uid}/series/{instance.series_uid}"
            f"/instances/{instance.sop_uid}")


def _selected(ctx: JobContext, flt: Optional[ResourceFilter]) -> list[StoredInstance]:
    instances = list(ctx.instances())
    if flt is None:
        return instances
    return [i for i in instances if flt.selects(i.study_uid, i.series_uid, i.sop_uid)]


def run_export(ctx: JobContext, body: Mapping[str, Any]) -> JobResult:
    """Run an ExportDicomData request to completion (Cloud Storage or BigQuery)."""
    validate_export_request(body)
    if body.get("bigqueryDestination") is not None:
        return _export_bigquery(ctx, body)
    return _export_gcs(ctx, body)


def _export_gcs(ctx: JobContext, body: Mapping[str, Any]) -> JobResult:
    destination = body["gcsDestination"]
    bucket, prefix = split_gs_uri(destination["uriPrefix"])
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    mime_type = destination.get("mimeType") or None
    ctx.require(f"gs://{bucket}", "write")
    gcs = GcsClient(ctx.storage_url)
    try:
        gcs.require_bucket(bucket)
    except BucketNotFound as exc:
        raise OperationFailed(NOT_FOUND, f"gcsDestination.uriPrefix: {exc}") from None
    except GcsError as exc:
        raise OperationFailed(UNKNOWN, str(exc)) from None
    flt = load_filter(ctx, gcs, (body.get("filterConfig") or {}).get("resourcePathsGcsUri"))
    instances = _selected(ctx, flt)
    ctx.log("INFO", f"exporting {len(instances)} instance(s) to gs://{bucket}/{prefix}")

    def write(instance: StoredInstance) -> int:
        files = encode_for_export(instance.data, mime_type)
        base = f"{prefix}{instance.study_uid}/{instance.series_uid}/{instance.sop_uid}"
        for item in files:
            gcs.write_object(bucket, base + item.suffix, item.data, item.content_type)
        return len(files)

    return _run_items(ctx, instances, write, lambda _i, _n: None,
                      lambda i: instance_path(ctx.store_name, i))


def _export_bigquery(ctx: JobContext, body: Mapping[str, Any]) -> JobResult:
    destination = body["bigqueryDestination"]
    ref = bq.parse_table_uri(destination["tableUri"])
    disposition = bq.effective_disposition(destination)
    schema_json = destination.get("schemaJson") is not None
    source = ctx.store_name if destination.get("includeSourceStore") is True else None
    ctx.require(ref.dataset_resource, "write")
    if not ctx.bigquery_url:
        raise OperationFailed(FAILED_PRECONDITION, "this emulator has no BigQuery endpoint configured")
    client = bq.BigQueryClient(ctx.bigquery_url)
    flt = load_filter(ctx, GcsClient(ctx.storage_url),
                      (body.get("filterConfig") or {}).get("resourcePathsGcsUri"))
    bq.check_destination(client, ref, disposition)  # fail early: missing dataset, table exists
    instances = _selected(ctx, flt)
    ctx.log("INFO", f"exporting {len(instances)} instance(s) to bq://{ref} ({disposition})")
    rows: list[dict] = []

    def keep(_instance: StoredInstance, row: dict) -> Optional[str]:
        rows.append(row)
        return None

    result = _run_items(ctx, instances,
                        lambda i: bigquery_row(i.data, schema_json, source), keep,
                        lambda i: instance_path(ctx.store_name, i))
    fields = bigquery_schema(rows, schema_json, include_source_store=source is not None)
    bq.prepare_table(client, ref, disposition, fields)  # a table lacking a column fails here
    try:
        client.insert_rows(ref, ({k: v for k, v in row.items() if v is not None} for row in rows))
    except bq.BigQueryError as exc:
        raise OperationFailed(UNKNOWN, f"writing rows to BigQuery table {ref} failed: {exc}") from None
    return result
