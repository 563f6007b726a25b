"""pulumi_dicom_jobs.names: every resource name is split in one place."""

from __future__ import annotations

import pytest

from pulumi_dicom_jobs import names, validation
from pulumi_dicom_jobs.gcp import grants

STORE = "projects/p/locations/europe-west4/datasets/d/dicomStores/s"
OPERATION = "projects/p/locations/l/datasets/d/operations/42"


def test_parse_dicom_store():
    assert names.parse_dicom_store(STORE) == ("p", "europe-west4", "d", "s")
    for bad in ("", "p/d/s", "projects/p/locations/l/datasets/d", "projects/p/locations/l/datasets/d/fhirStores/s"):
        with pytest.raises(ValueError):
            names.parse_dicom_store(bad)


def test_split_dicom_store_names_the_parts():
    parts = names.split_dicom_store(STORE)
    assert parts is not None and parts.dataset == "d" and parts.store == "s" and parts.project == "p"
    assert names.split_dicom_store(None) is None and names.split_dicom_store("projects/p") is None


def test_grants_offer_the_same_parsers():
    assert grants.parse_dicom_store is names.parse_dicom_store
    assert grants.parse_table_uri is names.parse_table_uri
    assert grants.bucket_of is validation.bucket_of  # the resources' bucket rule, not one of its own


def test_dataset_of_store_and_operation():
    assert names.dataset_of(STORE) == "projects/p/locations/europe-west4/datasets/d"
    assert names.dataset_of(OPERATION) == "projects/p/locations/l/datasets/d"
    assert names.dataset_of("projects/p/locations/l/datasets/d") == "projects/p/locations/l/datasets/d"


def test_operation_names():
    assert names.is_operation_name(OPERATION)
    assert not names.is_operation_name(STORE) and not names.is_operation_name(OPERATION + "/x")
    assert names.short_operation_name(OPERATION) == "operations/42"
    assert names.short_operation_name("something") == "something"


def test_gs_uris():
    assert names.split_gs_uri("gs://b/dir/x.dcm") == ("b", "dir/x.dcm")
    assert names.split_gs_uri("gs://b") == ("b", "")
    with pytest.raises(ValueError):
        names.split_gs_uri("s3://b/x")
    assert names.join_gs_uri("b", "/dir/**.dcm") == "gs://b/dir/**.dcm"
    assert names.join_gs_uri("b", "") == "gs://b"


def test_parse_table_uri():
    assert names.parse_table_uri("bq://p.ds.t") == ("p", "ds", "t")
    assert names.parse_table_uri("bq://example.com:proj.ds.t") == ("example.com:proj", "ds", "t")
    for bad in ("p.ds.t", "bq://p.ds", "bq://..t", None):
        with pytest.raises(ValueError):
            names.parse_table_uri(bad)
