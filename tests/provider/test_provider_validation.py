"""The offline check rules (pure unit tests)."""

from __future__ import annotations

import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc

from pulumi_dicom_jobs import apischema
from pulumi_dicom_jobs.validation import check_export, check_import

STORE = "projects/my-project/locations/us-central1/datasets/ds/dicomStores/store"


def imp(**over) -> dict:
    return {"dicom_store": STORE, "gcs_source": {"uri": "gs://bucket/dir/**.dcm"}, **over}


def exp(**over) -> dict:
    base = {"dicom_store": STORE, "gcs_destination": {"uri_prefix": "gs://bucket/out"}}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def paths(failures) -> list[str]:
    return [p for p, _ in failures]


def test_valid_minimal() -> None:
    assert check_import(imp()) == []
    assert check_export(exp()) == []


@pytest.mark.parametrize("uri", [
    "gs://bucket/file.dcm", "gs://bucket/dir/*.dcm", "gs://bucket/dir/f?.dcm", "gs://bucket/*/x?/*.dcm",
    "gs://bucket/**", "gs://bucket/dir/**", "gs://bucket/dir/**.dcm", "gs://bucket/dir/pre**",
    "gs://my.dotted.bucket/a", "gs://b_u-c/a b",
])
def test_import_uri_valid(uri: str) -> None:
    assert check_import(imp(gcs_source={"uri": uri})) == []


@pytest.mark.parametrize("uri,words", [
    ("", "required"), ("bucket/x", "gs://"), ("https://x/y", "gs://"), ("gs://", "bucket"),
    ("gs://bucket", "names no object"), ("gs://bucket/", "names no object"),
    ("gs://Bucket/x", "lowercase"), ("gs://ab/x", "3 to 63"), ("gs://" + "a" * 64 + "/x", "3 to 63"),
    ("gs://-bucket/x", "start and end"), ("gs://192.168.1.1/x", "IP address"),
    ("gs://googbucket/x", "goog"),
    ("gs://bucket/***", "three"), ("gs://bucket/**/x/**", "only once"),
    ("gs://bucket/**/x.dcm", "end the path"), ("gs://bucket/*/**", "another wildcard"),
    ("gs://bucket/dir/**.d?m", "another wildcard"), ("gs://bucket/a?/**", "another wildcard"),
    ("gs://bucket/**x", "end the path"), ("gs://bucket/**.", "end the path"),
])
def test_import_uri_invalid(uri: str, words: str) -> None:
    failures = check_import(imp(gcs_source={"uri": uri}))
    assert paths(failures) == ["gcs_source.uri"], failures
    assert words in failures[0][1]


def test_store_name_rules() -> None:
    for bad in ["", "projects/p/locations/l/datasets/d", "projects/p/locations/l/datasets/d/dicomStores/",
                "projects//locations/l/datasets/d/dicomStores/s", "p/l/d/s",
                STORE + "/extra", "projects/p/locations/l/datasets/d/fhirStores/s"]:
        assert paths(check_import(imp(dicom_store=bad))) == ["dicom_store"], bad
    assert paths(check_import({"gcs_source": {"uri": "gs://bucket/x"}})) == ["dicom_store"]
    assert check_import(imp(dicom_store="projects/example.com:p-1/locations/eu/datasets/a.b_c-1/dicomStores/S_1")) == []


def test_required_and_unknown_keys() -> None:
    assert paths(check_import({"dicom_store": STORE})) == ["gcs_source"]
    assert paths(check_import(imp(gcs_source="gs://bucket/x"))) == ["gcs_source"]
    failures = check_import(imp(bogus=1, gcs_source={"uri": "gs://bucket/x", "urii": 2}))
    assert paths(failures) == ["bogus", "gcs_source.urii"]
    assert "unknown property" in failures[0][1]
    assert check_import(imp(__provider="xyz")) == []
    assert paths(check_export(exp(gcs_source={"uri": "gs://b/x"}))) == ["gcs_source"]
    assert paths(check_import(imp(gcs_destination={"uri_prefix": "gs://b/x"}))) == ["gcs_destination"]
    assert paths(check_export(exp(gcs_destination={"uri_prefix": "gs://bucket/o", "mimeType": "image/png"}))) \
        == ["gcs_destination.mimeType"]


@pytest.mark.parametrize("value", apischema.BLOB_STORAGE_CLASSES)
def test_blob_storage_class_valid(value: str) -> None:
    assert check_import(imp(blob_storage_settings={"blob_storage_class": value})) == []


def test_blob_storage_class_invalid() -> None:
    for bad in ["standard", "COLD", 3]:
        f = check_import(imp(blob_storage_settings={"blob_storage_class": bad}))
        assert paths(f) == ["blob_storage_settings.blob_storage_class"]
    assert check_import(imp(blob_storage_settings={})) == []
    # The API's own "unspecified" value is accepted (the store's default), as the service does.
    assert check_import(imp(blob_storage_settings={"blob_storage_class": "BLOB_STORAGE_CLASS_UNSPECIFIED"})) == []


def test_common_settings() -> None:
    good = dict(api_version="v1beta1", api_endpoint="http://127.0.0.1:8080", timeout_seconds=30.0,
                max_failed_instances=3.0, triggers=["any", {"thing": 1}])
    assert check_import(imp(**good)) == []
    assert check_export(exp(**good)) == []
    bad = {"api_version": "v2", "api_endpoint": "healthcare.googleapis.com", "timeout_seconds": 0,
           "max_failed_instances": -1}
    for key, value in bad.items():
        assert paths(check_import(imp(**{key: value}))) == [key], key
    for value in (1.5, "3", True):
        assert paths(check_import(imp(max_failed_instances=value))) == ["max_failed_instances"]
    for value in ("10", -5, True, float("nan")):
        assert paths(check_import(imp(timeout_seconds=value))) == ["timeout_seconds"]
    assert check_import(imp(max_failed_instances=0)) == []


MIME_OK = [*apischema.LISTED_MIME_TYPES, *apischema.BARE_MIME_TYPES, "application/dicom;transfer-syntax=*",
           "Image/PNG", "application/dicom;  transfer-syntax=1.2.840.10008.1.2.1"]
MIME_BAD = ["application/json", "image/gif", "application/dicom; transfer-syntax=1.2.3",
            "image/png; transfer-syntax=*", "image/jpeg; transfer-syntax=1.2.840.10008.1.2.1",
            "application/octet-stream; transfer-syntax=1.2.840.10008.1.2", " ", "dicom", 7,
            "application/dicom; charset=utf-8"]


@pytest.mark.parametrize("mime", MIME_OK)
def test_mime_valid(mime: str) -> None:
    assert check_export(exp(gcs_destination={"uri_prefix": "gs://bucket/o", "mime_type": mime})) == []


def test_mime_empty_means_original_dicom() -> None:
    # proto3 cannot tell "" from unset, so the API exports the original DICOM: accepted.
    assert check_export(exp(gcs_destination={"uri_prefix": "gs://bucket/o", "mime_type": ""})) == []


@pytest.mark.parametrize("mime", MIME_BAD)
def test_mime_invalid(mime) -> None:
    f = check_export(exp(gcs_destination={"uri_prefix": "gs://bucket/o", "mime_type": mime}))
    assert paths(f) == ["gcs_destination.mime_type"]


def test_uri_prefix() -> None:
    for good in ["gs://bucket", "gs://bucket/", "gs://bucket/a/b/"]:
        assert check_export(exp(gcs_destination={"uri_prefix": good})) == []
    for bad in ["", "bucket/a", "gs://bucket/a*", "gs://B/a", None]:
        assert paths(check_export(exp(gcs_destination={"uri_prefix": bad}))) == ["gcs_destination.uri_prefix"]


def test_exactly_one_destination() -> None:
    f = check_export({"dicom_store": STORE})
    assert paths(f) == ["gcs_destination"] and "exactly one" in f[0][1]
    f = check_export(exp(bigquery_destination={"table_uri": "bq://my-project.ds.t"}))
    assert paths(f) == ["bigquery_destination"] and "not both" in f[0][1]


def bq(**fields) -> dict:
    return {"dicom_store": STORE, "bigquery_destination": {"table_uri": "bq://my-project.ds_1.table-1", **fields}}


@pytest.mark.parametrize("fields", [
    {}, {"write_disposition": "WRITE_EMPTY"}, {"write_disposition": "WRITE_TRUNCATE"},
    {"write_disposition": "WRITE_APPEND"}, {"force": True}, {"force": False},
    # force=false is indistinguishable from unset for the API: beside a disposition it is ignored.
    {"force": False, "write_disposition": "WRITE_EMPTY"},
    # The proto default means unset: accepted, so check agrees with the emulator (and the service).
    {"write_disposition": "WRITE_DISPOSITION_UNSPECIFIED"},
    {"write_disposition": "WRITE_DISPOSITION_UNSPECIFIED", "force": True},
    {"include_source_store": True, "schema": "FLATTENED"}, {"schema": "JSON"},
])
def test_bigquery_valid(fields: dict) -> None:
    assert check_export(bq(**fields)) == []


@pytest.mark.parametrize("fields,path", [
    ({"write_disposition": "truncate"}, "bigquery_destination.write_disposition"),
    ({"force": "yes"}, "bigquery_destination.force"),
    ({"include_source_store": 1}, "bigquery_destination.include_source_store"),
    ({"schema": "flat"}, "bigquery_destination.schema"),
    ({"force": True, "write_disposition": "WRITE_TRUNCATE"}, "bigquery_destination.force"),
    ({"table": "x"}, "bigquery_destination.table"),
])
def test_bigquery_invalid(fields: dict, path: str) -> None:
    assert paths(check_export(bq(**fields))) == [path]


@pytest.mark.parametrize("disposition", ["WRITE_EMPTY", "WRITE_TRUNCATE", "WRITE_APPEND"])
def test_force_beside_a_disposition_is_refused_saying_the_api_ignores_it(disposition: str) -> None:
    [(path, reason)] = check_export(bq(force=True, write_disposition=disposition))
    assert path == "bigquery_destination.force"
    assert "ignored by the API when write_disposition is set" in reason and "WRITE_TRUNCATE" in reason


@pytest.mark.parametrize("uri", [
    "bq://my-project.ds.t", "bq://example.com:my-project.ds.t", "bq://proj-123.d_s.table name-1",
    "bq://my-project." + "d" * 1000 + "." + "t" * (2000 - len("bq://my-project..") - 1000),
])
def test_table_uri_valid(uri: str) -> None:
    assert check_export({"dicom_store": STORE, "bigquery_destination": {"table_uri": uri}}) == []


@pytest.mark.parametrize("uri,words", [
    ("", "required"), ("my-project.ds.t", "bq://"), ("bq://my-project.ds", "PROJECT.DATASET.TABLE"),
    ("bq://My-Project.ds.t", "PROJECT"), ("bq://my-project.d-s.t", "PROJECT"),
    ("bq://my-project.ds.t/x", "PROJECT"), ("bq://p.ds.t", "PROJECT"),
    ("bq://my-project." + "d" * 1000 + "." + "t" * 1000, "at most 2000"),
    ("bq://my-project.ds." + "t" * 1025, "PROJECT"),
])
def test_table_uri_invalid(uri: str, words: str) -> None:
    f = check_export({"dicom_store": STORE, "bigquery_destination": {"table_uri": uri}})
    assert paths(f) == ["bigquery_destination.table_uri"] and words in f[0][1]


def test_filter_config() -> None:
    ok = exp(filter_config={"resource_paths_gcs_uri": "gs://bucket/filter.txt"})
    assert check_export(ok) == []
    for bad in ["gs://bucket", "gs://bucket/*.txt", "http://x/y", None]:
        f = check_export(exp(filter_config={"resource_paths_gcs_uri": bad}))
        assert paths(f) == ["filter_config.resource_paths_gcs_uri"], bad


@pytest.mark.parametrize("unknown", [Unknown(), rpc.UNKNOWN])
def test_unknowns_never_fail(unknown) -> None:
    assert check_import({"dicom_store": unknown, "gcs_source": unknown}) == []
    assert check_import(imp(gcs_source={"uri": unknown}, timeout_seconds=unknown,
                            blob_storage_settings={"blob_storage_class": unknown})) == []
    assert check_export({"dicom_store": STORE, "gcs_destination": unknown}) == []
    assert check_export({"dicom_store": STORE, "gcs_destination": {"uri_prefix": unknown},
                         "bigquery_destination": unknown}) == []
    assert check_export(bq(force=unknown, write_disposition="WRITE_APPEND", table_uri=unknown)) == []


def test_check_never_raises_on_garbage() -> None:
    for junk in [None, 1, "x", [], {1: 2}, {"gcs_source": {"uri": b"gs://x"}}]:
        assert isinstance(check_import(junk), list)
        assert isinstance(check_export(junk), list)
