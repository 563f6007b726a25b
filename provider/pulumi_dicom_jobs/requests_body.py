"""Translate the resources' snake_case inputs into the API's camelCase bodies.

Why separate: the provider, the CLI and the tests must all send exactly the
same request for the same inputs, and the mapping (including the
``schema`` choice becoming the ``schemaFlattened``/``schemaJson`` union and
the dropping of unset values) is easy to get subtly wrong in two places.
Inputs are assumed to have passed :mod:`pulumi_dicom_jobs.validation`.
"""

from __future__ import annotations

from typing import Any, Mapping

from pulumi_dicom_jobs import apischema


def _set(target: dict, key: str, value: Any) -> None:
    if value is not None:
        target[key] = value


def _nested(props: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = props.get(key)
    return value if isinstance(value, Mapping) else {}


def build_import_body(props: dict) -> dict:
    """``ImportDicomDataRequest`` for an import job's inputs."""
    body: dict[str, Any] = {"gcsSource": {"uri": _nested(props, "gcs_source").get("uri")}}
    blob_class = _nested(props, "blob_storage_settings").get("blob_storage_class")
    if blob_class is not None:
        body["blobStorageSettings"] = {"blobStorageClass": blob_class}
    return body


def build_export_body(props: dict) -> dict:
    """``ExportDicomDataRequest`` for an export job's inputs (one destination)."""
    body: dict[str, Any] = {}
    if props.get("gcs_destination") is not None:
        gcs = _nested(props, "gcs_destination")
        destination: dict[str, Any] = {"uriPrefix": gcs.get("uri_prefix")}
        _set(destination, "mimeType", gcs.get("mime_type"))
        body["gcsDestination"] = destination
    if props.get("bigquery_destination") is not None:
        bq = _nested(props, "bigquery_destination")
        destination = {"tableUri": bq.get("table_uri")}
        disposition = bq.get("write_disposition")
        if disposition in (None, apischema.WRITE_DISPOSITION_UNSET):
            _set(destination, "force", bq.get("force"))  # ignored by the API beside a disposition
        _set(destination, "writeDisposition", disposition)
        _set(destination, "includeSourceStore", bq.get("include_source_store"))
        schema = bq.get("schema")
        if schema is not None:
            destination[apischema.SCHEMA_FIELDS[schema]] = {}
        body["bigqueryDestination"] = destination
    resource_paths = _nested(props, "filter_config").get("resource_paths_gcs_uri")
    if resource_paths is not None:
        body["filterConfig"] = {"resourcePathsGcsUri": resource_paths}
    return body


def is_bigquery_export(body: Mapping[str, Any]) -> bool:
    """True when an export body writes to BigQuery (its method name differs)."""
    return body.get("bigqueryDestination") is not None
