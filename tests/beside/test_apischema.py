"""The provider's API facts (api_facts, and the request field names in spec) match the discovery documents."""

from __future__ import annotations

import json
import re
from pathlib import Path

import googleapiclient
import pytest

from pulumi_dicom_jobs import api_facts, spec

DOCS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"


def _api_fields(inputs: tuple[spec.InputSpec, ...]) -> set[str]:
    """The request field names the body builder sends for these inputs (the spec's camelCase)."""
    return {item.camel for item in inputs if item.api}


def _doc(version: str) -> dict:
    return json.loads((DOCS / f"healthcare.{version}.json").read_text())


def _schema(doc: dict, suffix: str) -> dict:
    prefix = "GoogleCloudHealthcareV1" if doc["version"] == "v1" else "GoogleCloudHealthcareV1beta1"
    return doc["schemas"][f"{prefix}{suffix}"]


@pytest.mark.parametrize("version", api_facts.API_VERSIONS)
def test_mime_types_match_the_document_list(version: str) -> None:
    description = _schema(_doc(version), "DicomGcsDestination")["properties"]["mimeType"]["description"]
    supported = description.split("The following extensions")[0]
    listed = re.findall(r"- ((?:application|image)/[a-z-]+(?:; transfer-syntax=[0-9.*]+)?)", supported)
    assert tuple(listed) == api_facts.LISTED_MIME_TYPES
    # the bare types are the families of the document's extension list ("- image/png -> .png"):
    # each is a prefix of a listed type, so a plain substring test could not fail
    families = re.findall(r"- ((?:application|image)/[a-z-]+) -> ", description)
    assert sorted(families) == sorted(api_facts.BARE_MIME_TYPES)
    for mime, extension in api_facts.MIME_EXTENSIONS.items():
        assert f"{mime} -> {extension or 'no extension'}" in description


@pytest.mark.parametrize("version", api_facts.API_VERSIONS)
def test_enums_and_field_names(version: str) -> None:
    doc = _doc(version)
    schemas = doc["schemas"]
    bq = _schema(doc, "DicomBigQueryDestination")["properties"]
    assert tuple(v for v in bq["writeDisposition"]["enum"] if not v.endswith("UNSPECIFIED")) \
        == api_facts.WRITE_DISPOSITIONS
    assert api_facts.WRITE_DISPOSITION_UNSET in bq["writeDisposition"]["enum"]
    assert set(api_facts.SCHEMA_FIELDS.values()) <= set(bq)
    assert str(api_facts.MAX_TABLE_URI_CHARS) in bq["tableUri"]["description"]
    blob = schemas["BlobStorageSettings"]["properties"]["blobStorageClass"]["enum"]
    assert tuple(v for v in blob if not v.endswith("UNSPECIFIED")) == api_facts.BLOB_STORAGE_CLASSES
    assert set(spec.BLOB_STORAGE_SETTINGS.field("blob_storage_class").enum) == set(blob)
    assert set(spec.BIGQUERY_DESTINATION.field("write_disposition").enum) == set(bq["writeDisposition"]["enum"])
    assert _api_fields(spec.IMPORT_JOB.inputs) == set(schemas["ImportDicomDataRequest"]["properties"])
    assert _api_fields(spec.EXPORT_JOB.inputs) == set(schemas["ExportDicomDataRequest"]["properties"])
    assert _api_fields(spec.GCS_SOURCE.fields) == set(_schema(doc, "DicomGcsSource")["properties"])
    assert _api_fields(spec.GCS_DESTINATION.fields) == set(_schema(doc, "DicomGcsDestination")["properties"])
    # v1beta1 has more BigQuery options than the provider offers (changeDataCaptureConfig).
    assert _api_fields(spec.BIGQUERY_DESTINATION.fields) | set(api_facts.SCHEMA_FIELDS.values()) <= set(bq)
    assert _api_fields(spec.FILTER_CONFIG.fields) == set(schemas["DicomFilterConfig"]["properties"])
    assert _api_fields(spec.BLOB_STORAGE_SETTINGS.fields) == set(schemas["BlobStorageSettings"]["properties"])
    counter = schemas["ProgressCounter"]["properties"]
    for name in api_facts.COUNTER_FIELDS:
        assert counter[name]["format"] == "int64" and counter[name]["type"] == "string"
    assert set(api_facts.METADATA_FIELDS) <= set(schemas["OperationMetadata"]["properties"])


@pytest.mark.parametrize("version", api_facts.API_VERSIONS)
def test_methods_and_paths(version: str) -> None:
    doc = _doc(version)
    assert doc["rootUrl"].rstrip("/") == api_facts.DEFAULT_ENDPOINT
    stores = doc["resources"]["projects"]["resources"]["locations"]["resources"]["datasets"][
        "resources"]["dicomStores"]["methods"]
    assert stores["import"]["path"] == f"{version}/{{+name}}:import"
    assert stores["export"]["path"] == f"{version}/{{+name}}:export"
    assert api_facts.CLOUD_PLATFORM_SCOPE in stores["import"]["scopes"]
    ops = doc["resources"]["projects"]["resources"]["locations"]["resources"]["datasets"][
        "resources"]["operations"]["methods"]
    assert {"get", "list", "cancel"} <= set(ops)
    assert set(ops["list"]["parameters"]) >= {"filter", "pageSize", "pageToken"}


def test_canonical_mime_type() -> None:
    assert api_facts.canonical_mime_type("Application/DICOM;transfer-syntax=*") == "application/dicom; transfer-syntax=*"
    assert api_facts.canonical_mime_type(" image/png ") == "image/png"


@pytest.mark.parametrize("version", api_facts.API_VERSIONS)
def test_the_operations_page_size_is_the_largest_the_api_documents(version: str) -> None:
    """operations.list states no maximum page size; the API's other lists say "May not be
    larger than 1000". If the document ever gives operations.list a limit, follow it."""
    found: dict[str, str] = {}

    def walk(resource: dict) -> None:
        for method in (resource.get("methods") or {}).values():
            page_size = method.get("parameters", {}).get("pageSize")
            if page_size is not None:
                found[method["id"]] = page_size.get("description", "")
        for child in (resource.get("resources") or {}).values():
            walk(child)

    walk(_doc(version))
    listing = found.pop("healthcare.projects.locations.datasets.operations.list")
    assert listing == "The standard list page size."  # no maximum, no default
    stated = {int(n) for text in found.values() for n in re.findall(r"May not be larger than (\d+)", text)}
    assert stated == {api_facts.OPERATIONS_PAGE_SIZE} == {1000}
