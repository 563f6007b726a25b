"""What an import or export request must hold, checked before any operation starts.

Why apart from running the jobs (:mod:`healthcare_emulator.jobs`): the real
API refuses a bad request at once, with 400 INVALID_ARGUMENT and no
operation, while a job runs later in a worker and reports on its operation.
These rules come after the body has passed the discovery document
(:mod:`healthcare_emulator.body_validation`) and say what its types cannot:
one destination, a ``gs://`` URI, a MIME type or storage class the document
lists. A ``ValueError`` names the field; the routes answer it as the 400.
Also here: what a request makes its operation's method and success message.
What the emulator refuses: docs/emulator.md#what-it-emulates.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping, Optional

from . import bigquery as bq
from . import discovery
from .export_encoding import parse_mime_type
from .projects import ProjectNumbers, project_of_resource
from .wildcards import validate_bucket_name, validate_import_uri


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


def check_bigquery_project(body: Mapping[str, Any], api_version: str, store_name: str,
                           projects: ProjectNumbers) -> None:
    """On v1beta1, refuse a BigQuery dataset outside the DICOM store's project (ValueError).

    The v1beta1 ``dicomStores.export`` reference and discovery document: "You
    can only export to a BigQuery dataset that's in the same project as the
    DICOM store". v1 keeps cross-project exports, which the v1 BigQuery export
    guide documents with a worked sample, although v1's discovery document
    carries the same sentence (docs/emulator.md says so). The store's project
    may be named by its number.
    """
    destination = body.get("bigqueryDestination")
    if api_version != "v1beta1" or not isinstance(destination, Mapping):
        return
    table = bq.parse_table_uri(destination.get("tableUri"))
    store_project = project_of_resource(store_name)
    if store_project in (table.project, projects.number(table.project)):
        return
    raise ValueError(f"bigqueryDestination.tableUri: on v1beta1 the BigQuery dataset must be in the "
                     f"DICOM store's project {store_project}, but bq://{table} is in project "
                     f"{table.project}: export to a dataset of {store_project}, or use v1, which "
                     "exports to another project")


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
