"""Import and export jobs: the emulator's data plane entry points.

The service layer validates a request synchronously with
:func:`validate_import_request` / :func:`validate_export_request` (a
``ValueError`` becomes a 400 INVALID_ARGUMENT; its message names the field),
starts an operation, and then runs :func:`run_import` / :func:`run_export` in
a worker with a :class:`~healthcare_emulator.jobcontext.JobContext`.

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

import re
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar

from . import bigquery as bq
from . import discovery
from .bigquery_rows import bigquery_row, bigquery_schema
from .dicom_file import DicomError, parse_instance
from .export_encoding import encode_for_export, parse_mime_type
from .filters import ResourceFilter, load_filter
from .gcs import BucketNotFound, GcsClient, GcsError, split_gs_uri
from .jobcontext import JobContext, OperationFailed, StoredInstance
from .rpc import FAILED_PRECONDITION, INVALID_ARGUMENT, NOT_FOUND, UNKNOWN
from .wildcards import parse_import_uri, validate_bucket_name, validate_import_uri

WORKERS = 2
WINDOW = 8

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class JobResult:
    """Final counters of a finished job (also already published through the context)."""

    success: int
    failure: int


def _normalize_mime(mime_type: str) -> str:
    choice = parse_mime_type(mime_type)
    if choice.transfer_syntax is None:
        return choice.media_type
    return f"{choice.media_type}; transfer-syntax={choice.transfer_syntax}"


@lru_cache(maxsize=None)
def supported_mime_types() -> frozenset[str]:
    """The ``mimeType`` values the discovery document lists, plus their bare media types.

    Parsed from the description of ``GoogleCloudHealthcareV1DicomGcsDestination.mimeType``
    (the part before "The following extensions"), so the list follows the document. A
    bare media type (``application/dicom``, ``image/jpeg``, ``application/octet-stream``)
    is accepted when the list has it with some transfer syntax: the service treats it
    as that type's default.
    """
    schema = discovery.schemas("v1")["GoogleCloudHealthcareV1DicomGcsDestination"]
    text = schema["properties"]["mimeType"]["description"]
    text = text.split("The following extensions", 1)[0]
    found = re.findall(r"-\s+([a-z]+/[a-z0-9.+\-]+(?:;\s*transfer-syntax=[0-9.*]+)?)", text)
    if not found:
        raise RuntimeError("no MIME types found in the discovery document")
    values = {_normalize_mime(item) for item in found}
    values |= {item.split(";")[0] for item in values}
    return frozenset(values)


@lru_cache(maxsize=None)
def blob_storage_classes() -> frozenset[str]:
    """``BlobStorageSettings.blobStorageClass`` enum values from the discovery document."""
    schema = discovery.schemas("v1")["BlobStorageSettings"]
    return frozenset(schema["properties"]["blobStorageClass"]["enum"])


# -- synchronous validation ------------------------------------------------------
def _object(body: Mapping[str, Any], field: str, parent: str = "") -> Optional[Mapping[str, Any]]:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{parent}{field} must be an object")
    return value


def validate_import_request(body: Mapping[str, Any]) -> None:
    """Raise ValueError (naming the field) for what the real API rejects with 400."""
    if not isinstance(body, Mapping):
        raise ValueError("the request body must be a JSON object")
    source = _object(body, "gcsSource")
    if source is None:
        raise ValueError("gcsSource is required")
    uri = source.get("uri")
    if not isinstance(uri, str) or not uri:
        raise ValueError("gcsSource.uri is required")
    validate_import_uri(uri)
    settings = _object(body, "blobStorageSettings")
    if settings is not None and settings.get("blobStorageClass") is not None:
        value = settings["blobStorageClass"]
        if value not in blob_storage_classes():
            raise ValueError(f"blobStorageSettings.blobStorageClass {value!r} is not one of "
                             f"{sorted(blob_storage_classes())}")


def _validate_gs_prefix(value: Any, field: str, need_object: bool) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field} is required")
    if not value.startswith("gs://"):
        raise ValueError(f"{field} must be a Cloud Storage URI gs://BUCKET/..., got {value!r}")
    bucket, _, name = value[len("gs://"):].partition("/")
    try:
        validate_bucket_name(bucket)
    except ValueError as exc:
        raise ValueError(str(exc).replace("gcsSource.uri", field)) from None
    if need_object and not name:
        raise ValueError(f"{field} must name an object: gs://BUCKET/OBJECT, got {value!r}")
    # Only an import source takes wildcards. A filter file is one object and an
    # export prefix is written literally: a glob there is a mistake, so it is
    # refused up front (the emulator's choice where the API reference is silent).
    if any(ch in name for ch in "*?"):
        raise ValueError(f"{field} must not hold wildcards ('*', '?'), got {value!r}")


def validate_export_request(body: Mapping[str, Any]) -> None:
    """Raise ValueError (naming the field) for what the real API rejects with 400."""
    if not isinstance(body, Mapping):
        raise ValueError("the request body must be a JSON object")
    gcs = _object(body, "gcsDestination")
    bqd = _object(body, "bigqueryDestination")
    if gcs is not None and bqd is not None:
        raise ValueError("only one of gcsDestination and bigqueryDestination may be set")
    if gcs is None and bqd is None:
        raise ValueError("one of gcsDestination or bigqueryDestination is required")
    if gcs is not None:
        _validate_gs_prefix(gcs.get("uriPrefix"), "gcsDestination.uriPrefix", need_object=False)
        mime = gcs.get("mimeType")
        if mime not in (None, ""):
            # "" is proto3's unset (original DICOM); blank text is not a MIME type.
            if not isinstance(mime, str) or not mime.strip() \
                    or _normalize_mime(mime) not in supported_mime_types():
                raise ValueError(f"gcsDestination.mimeType {mime!r} is not supported; supported: "
                                 f"{', '.join(sorted(supported_mime_types()))}")
    if bqd is not None:
        bq.parse_table_uri(bqd.get("tableUri"))
        disposition = bqd.get("writeDisposition")
        if disposition is not None and disposition not in bq.DISPOSITIONS:
            raise ValueError(f"bigqueryDestination.writeDisposition {disposition!r} is not one of "
                             f"{', '.join(bq.DISPOSITIONS)}")
        force = bqd.get("force")
        if force is not None and not isinstance(force, bool):
            raise ValueError("bigqueryDestination.force must be a boolean")
        # force beside a writeDisposition is not an error: the service ignores it
        # (discovery document), and so does bq.effective_disposition.
        if bqd.get("schemaFlattened") is not None and bqd.get("schemaJson") is not None:
            raise ValueError("only one of bigqueryDestination.schemaFlattened and "
                             "bigqueryDestination.schemaJson may be set")
    flt = _object(body, "filterConfig")
    if flt is not None:
        # A filter config without its file would export everything: refuse it
        # rather than read "no filter file" as "no filter".
        _validate_gs_prefix(flt.get("resourcePathsGcsUri"), "filterConfig.resourcePathsGcsUri",
                            need_object=True)


def export_method_suffix(body: Mapping[str, Any]) -> str:
    """``"_bq"`` for a BigQuery export (apiMethodName ``ExportDicomData_bq``), else ``""``."""
    return "_bq" if body.get("bigqueryDestination") is not None else ""


def export_response_type(body: Mapping[str, Any], version: str) -> str:
    """The message of a successful export's ``response``: ``google.protobuf.Empty`` for BigQuery.

    The BigQuery export guide's sample operation answers
    ``type.googleapis.com/google.protobuf.Empty``; a Cloud Storage export
    answers ``ExportDicomDataResponse``.
    """
    if body.get("bigqueryDestination") is not None:
        return "google.protobuf.Empty"
    return f"google.cloud.healthcare.{version}.dicom.ExportDicomDataResponse"


# -- the item loop ------------------------------------------------------------------
@dataclass(frozen=True)
class _Outcome:
    value: Any = None
    error: Optional[str] = None


def _run_items(ctx: JobContext, items: Sequence[T], work: Callable[[T], R],
               finish: Callable[[T, R], Optional[str]], resource_of: Callable[[T], str]) -> JobResult:
    """Run ``work`` on a pool, ``finish`` on this thread; publish counters after each item.

    ``work`` raising :class:`DicomError`, :class:`GcsError` or ValueError
    (or ``finish`` returning a message) makes that item a failure.
    """
    total = len(items)
    success = failure = 0
    ctx.set_counters(0, 0, total)

    def guarded(item: T) -> _Outcome:
        try:
            return _Outcome(value=work(item))
        except (DicomError, GcsError, ValueError) as exc:
            return _Outcome(error=str(exc))

    def settle(item: T, outcome: _Outcome) -> None:
        nonlocal success, failure
        error = outcome.error
        if error is None:
            error = finish(item, outcome.value)
        if error is None:
            success += 1
        else:
            failure += 1
            resource = resource_of(item)
            ctx.add_sample_error(resource, INVALID_ARGUMENT, error)
            ctx.log("ERROR", error, resource)
        ctx.set_counters(success, failure, total - success - failure)

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
    return JobResult(success, failure)


# -- import ------------------------------------------------------------------------
def _storage_class(body: Mapping[str, Any]) -> Optional[str]:
    value = (body.get("blobStorageSettings") or {}).get("blobStorageClass")
    return None if value in (None, "", "BLOB_STORAGE_CLASS_UNSPECIFIED") else value


def run_import(ctx: JobContext, body: Mapping[str, Any]) -> JobResult:
    """Run an ImportDicomData request to completion.

    Reads every object selected by ``gcsSource.uri``; each valid DICOM file is
    stored (an instance already in the store counts as a success and is not
    stored twice), each invalid one is a sample error on ``gs://bucket/object``.
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

    def store(name: str, instance: StoredInstance) -> Optional[str]:
        ctx.store_instance(instance)  # False = duplicate: still a success, nothing changes
        return None

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
    columns = set(bq.prepare_table(client, ref, disposition, fields))
    dropped = sorted({k for row in rows for k in row} - columns)
    if dropped:
        ctx.log("WARNING", f"table {ref} has no column(s) {', '.join(dropped)}; their values "
                           "were not written (this emulator cannot extend a table's schema)")
    try:
        client.insert_rows(ref, ({k: v for k, v in row.items() if k in columns and v is not None}
                                 for row in rows))
    except bq.BigQueryError as exc:
        raise OperationFailed(UNKNOWN, f"writing rows to BigQuery table {ref} failed: {exc}") from None
    return result
