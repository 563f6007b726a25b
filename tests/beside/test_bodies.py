"""pulumi_dicom_jobs.request_body: the request body each job sends, camelCase, only what the API reads."""

from __future__ import annotations

import pytest

from pulumi_dicom_jobs.request_body import build_export_body, build_import_body

STORE = "projects/p-123456/locations/l/datasets/d/dicomStores/s"


def test_import_body() -> None:
    assert build_import_body({"gcs_source": {"uri": "gs://b/x/**.dcm"}, "dicom_store": STORE}) == \
        {"gcsSource": {"uri": "gs://b/x/**.dcm"}}
    assert build_import_body({"gcs_source": {"uri": "gs://b/x"},
                              "blob_storage_settings": {"blob_storage_class": "ARCHIVE"}}) == \
        {"gcsSource": {"uri": "gs://b/x"}, "blobStorageSettings": {"blobStorageClass": "ARCHIVE"}}


def test_export_bodies() -> None:
    assert build_export_body({"gcs_destination": {"uri_prefix": "gs://b/o", "mime_type": "image/png"},
                              "filter_config": {"resource_paths_gcs_uri": "gs://b/f.txt"}}) == {
        "gcsDestination": {"uriPrefix": "gs://b/o", "mimeType": "image/png"},
        "filterConfig": {"resourcePathsGcsUri": "gs://b/f.txt"}}
    assert build_export_body({"gcs_destination": {"uri_prefix": "gs://b/o"}}) == \
        {"gcsDestination": {"uriPrefix": "gs://b/o"}}
    assert build_export_body({"bigquery_destination": {"table_uri": "bq://p.d.t", "force": False,
                                                       "include_source_store": True, "schema": "JSON"}}) == {
        "bigqueryDestination": {"tableUri": "bq://p.d.t", "force": False, "includeSourceStore": True,
                                "schemaJson": {}}}
    assert build_export_body({"bigquery_destination": {"table_uri": "bq://p.d.t", "schema": "FLATTENED",
                                                       "write_disposition": "WRITE_APPEND"}}) == {
        "bigqueryDestination": {"tableUri": "bq://p.d.t", "writeDisposition": "WRITE_APPEND",
                                "schemaFlattened": {}}}


@pytest.mark.parametrize("force", [True, False])
def test_force_is_sent_only_without_a_write_disposition(force: bool) -> None:
    """The API ignores force beside a write disposition: the body never carries both."""
    def body(**bq) -> dict:
        return build_export_body({"bigquery_destination": {"table_uri": "bq://p.d.t", **bq}})["bigqueryDestination"]

    assert body(force=force) == {"tableUri": "bq://p.d.t", "force": force}
    assert body(force=force, write_disposition="WRITE_APPEND") == \
        {"tableUri": "bq://p.d.t", "writeDisposition": "WRITE_APPEND"}
    # WRITE_DISPOSITION_UNSPECIFIED means unset, so force still applies.
    assert body(force=force, write_disposition="WRITE_DISPOSITION_UNSPECIFIED") == \
        {"tableUri": "bq://p.d.t", "force": force, "writeDisposition": "WRITE_DISPOSITION_UNSPECIFIED"}
