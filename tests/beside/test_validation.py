"""The offline check rules (pure unit tests)."""

from __future__ import annotations

import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc

from pulumi_dicom_jobs import api_facts, names, validation
from pulumi_dicom_jobs.validation import IMPORT_KEYS, check_export, check_import

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


@pytest.mark.parametrize("uri", ["gs://bucket/dir/", "gs://bucket/a/b/"])
def test_import_of_a_folder_is_refused_suggesting_the_patterns(uri: str) -> None:
    """Seed 001: gs://BUCKET/OBJECT with the documented wildcards; a folder is none of them."""
    failures = check_import(imp(gcs_source={"uri": uri}))
    assert paths(failures) == ["gcs_source.uri"], failures
    assert "names a folder" in failures[0][1]
    assert f"'{uri}**'" in failures[0][1] and f"'{uri}*.dcm'" in failures[0][1]


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


@pytest.mark.parametrize("value", api_facts.BLOB_STORAGE_CLASSES)
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


MIME_OK = [*api_facts.LISTED_MIME_TYPES, *api_facts.BARE_MIME_TYPES, "application/dicom;transfer-syntax=*",
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


# -- boundaries and what each message tells the user ------------------------
# A CheckFailure is read at ``pulumi preview``: it names the property, the rule
# and the offending value. These pin those facts and both sides of each limit.

def reason_for(failures, path: str) -> str:
    found = [reason for p, reason in failures if p == path]
    assert len(found) == 1, failures
    return found[0]


def store(dataset: str = "ds", store_: str = "store", project: str = "my-project",
          location: str = "us-central1") -> str:
    return f"projects/{project}/locations/{location}/datasets/{dataset}/dicomStores/{store_}"


STORE_FORM = "projects/PROJECT/locations/LOCATION/datasets/DATASET/dicomStores/STORE"
ID_RULE = "(the API's [\\p{L}\\p{N}_\\-\\.]{1,256})"


@pytest.mark.parametrize("name", [
    store(dataset="d" * 256), store(store_="s" * 256), store(dataset="d" * 256, store_="s" * 256),
    store(dataset="é.ü-1_Ω", store_="店舗٣"), store(dataset="d"), store(project="a", location="x"),
    store(project="p" * 64, location="l" * 63),
])
def test_dataset_and_store_ids_of_up_to_256_letters_digits_and_punctuation_are_accepted(name: str) -> None:
    """The discovery document: ids match [\\p{L}\\p{N}_\\-\\.]{1,256} (letters and digits of any script)."""
    assert check_import(imp(dicom_store=name)) == []


@pytest.mark.parametrize("part,name,bad_id", [
    ("dataset", store(dataset="d" * 257), "d" * 257),
    ("store", store(store_="s" * 257), "s" * 257),
    ("dataset", store(dataset="a b"), "a b"),
    ("dataset", store(dataset="a@b", store_="s" * 257), "a@b"),
    ("store", store(store_="x+y"), "x+y"),
])
def test_a_bad_or_too_long_id_is_refused_naming_it_and_the_api_rule(part: str, name: str, bad_id: str) -> None:
    reason = reason_for(check_import(imp(dicom_store=name)), "dicom_store")
    assert repr(name) in reason and f"the {part} id {bad_id!r}" in reason
    assert "1 to 256 letters, digits, '_', '-' or '.'" in reason and ID_RULE in reason


@pytest.mark.parametrize("part,name,dots", [
    ("dataset", store(dataset="."), "."), ("dataset", store(dataset=".."), ".."),
    ("store", store(store_="."), "."), ("store", store(store_=".."), ".."),
])
def test_a_dot_or_dot_dot_id_is_refused(part: str, name: str, dots: str) -> None:
    """'.' and '..' match the id rule but would address another URL path segment."""
    reason = reason_for(check_import(imp(dicom_store=name)), "dicom_store")
    assert f"the {part} id must not be {dots!r}" in reason and repr(name) in reason


@pytest.mark.parametrize("name", [
    store(project="My_Project"), store(project="-p"), store(project="p" * 65),
    store(location="US-central1"), store(location="1us"), store(location="l" * 64),
    "projects/p/locations/l/datasets/d", STORE + "/extra",
])
def test_a_bad_project_location_or_shape_is_refused_showing_the_expected_form(name: str) -> None:
    reason = reason_for(check_import(imp(dicom_store=name)), "dicom_store")
    assert repr(name) in reason and f"is not a DICOM store name: expected {STORE_FORM}" in reason


@pytest.mark.parametrize("value", ["", None, 5, ["x"]])
def test_a_missing_store_name_is_required_showing_the_form(value) -> None:
    props = imp(dicom_store=value)
    if value is None:
        del props["dicom_store"]
    reason = reason_for(check_import(props), "dicom_store")
    assert reason.startswith("is required") and STORE_FORM in reason


def test_is_healthcare_id_follows_the_api_rule_at_both_ends() -> None:
    from pulumi_dicom_jobs.validation import is_healthcare_id
    assert not is_healthcare_id("")
    assert is_healthcare_id("a") and is_healthcare_id("a" * 256) and is_healthcare_id("Ab_9-.é")
    assert not is_healthcare_id("a" * 257)
    assert not is_healthcare_id("a/b") and not is_healthcare_id("a b") and not is_healthcare_id("X*")


def bucket_reason(bucket: str) -> str:
    return reason_for(check_import(imp(gcs_source={"uri": f"gs://{bucket}/x"})), "gcs_source.uri")


DOTTED_222 = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 30])
assert len(DOTTED_222) == 222


@pytest.mark.parametrize("bucket", [
    "abc", "a" * 63, "a" * 63 + ".b", "a" * 63 + "." + "b" * 63, DOTTED_222, "x.y.z",
])
def test_bucket_lengths_accepted_3_to_63_and_222_with_dots(bucket: str) -> None:
    """Cloud Storage naming: 3-63 characters, up to 222 with dots, each dot-separated part at most 63."""
    assert check_import(imp(gcs_source={"uri": f"gs://{bucket}/x"})) == []


@pytest.mark.parametrize("bucket,words", [
    ("ab", "must be 3 to 63 characters long (222 with dots)"),
    ("a" * 64, "must be 3 to 63 characters long (222 with dots)"),
    (DOTTED_222 + "d", "must be 3 to 63 characters long (222 with dots)"),
    ("a" * 64 + ".b", "may hold only lowercase letters, digits, '-', '_' and '.'"),
    ("b." + "a" * 64, "must start and end with a letter or digit"),
    ("a..b", "must start and end with a letter or digit"),
    ("10.0.0.1", "must not look like an IP address"),
    ("goog-x", "must not start with 'goog'"),
])
def test_bucket_rules_are_refused_naming_the_bucket_and_the_rule(bucket: str, words: str) -> None:
    reason = bucket_reason(bucket)
    assert f"bucket name {bucket!r}" in reason and words in reason


def test_a_uri_without_a_bucket_or_scheme_names_the_expected_form() -> None:
    reason = reason_for(check_import(imp(gcs_source={"uri": "gs:///x"})), "gcs_source.uri")
    assert "names no bucket" in reason and "gs://BUCKET/" in reason
    for value in ("", None):
        source = {} if value is None else {"uri": value}
        reason = reason_for(check_import(imp(gcs_source=source)), "gcs_source.uri")
        assert reason.startswith("is required") and "Cloud Storage URI gs://BUCKET/" in reason
    reason = reason_for(check_import(imp(gcs_source={"uri": "s3://b/x"})), "gcs_source.uri")
    assert "'s3://b/x' is not a Cloud Storage URI (must start with gs://)" in reason


@pytest.mark.parametrize("uri", ["gs://bucket/XRAYS/**", "gs://bucket/X/**.dcm", "gs://bucket/X*/a.dcm"])
def test_wildcards_beside_capital_letters_are_valid(uri: str) -> None:
    assert check_import(imp(gcs_source={"uri": uri})) == []


@pytest.mark.parametrize("uri", ["gs://bucket/XRAYS/", "gs://bucket/a/X/"])
def test_a_folder_with_capital_letters_is_still_a_folder(uri: str) -> None:
    reason = reason_for(check_import(imp(gcs_source={"uri": uri})), "gcs_source.uri")
    assert "names a folder" in reason


def test_double_star_not_at_the_end_names_the_rule() -> None:
    reason = reason_for(check_import(imp(gcs_source={"uri": "gs://bucket/**/a"})), "gcs_source.uri")
    assert "'**' must end the path, optionally followed by an extension such as '.dcm'" in reason


def test_a_question_mark_is_a_wildcard_in_a_filter_file_and_an_export_destination() -> None:
    f = check_export(exp(filter_config={"resource_paths_gcs_uri": "gs://bucket/filter?.txt"}))
    assert "wildcards are not allowed" in reason_for(f, "filter_config.resource_paths_gcs_uri")
    f = check_export(exp(gcs_destination={"uri_prefix": "gs://bucket/out?"}))
    assert "wildcards are not allowed" in reason_for(f, "gcs_destination.uri_prefix")


def test_a_non_string_mime_type_is_refused_as_such() -> None:
    for value in (7, " ", ["image/png"]):
        f = check_export(exp(gcs_destination={"uri_prefix": "gs://bucket/o", "mime_type": value}))
        assert reason_for(f, "gcs_destination.mime_type") == "must be a non-empty MIME type string"


def test_an_unsupported_mime_type_lists_the_supported_ones() -> None:
    f = check_export(exp(gcs_destination={"uri_prefix": "gs://bucket/o", "mime_type": "image/gif"}))
    reason = reason_for(f, "gcs_destination.mime_type")
    assert "'image/gif' is not a supported MIME type" in reason
    for listed in ("application/dicom", "'; transfer-syntax=UID'", "'; transfer-syntax=*'",
                   "application/octet-stream", "transfer-syntax=1.2.840.10008.1.2.1", "image/jpeg", "image/png"):
        assert listed in reason, listed


def test_table_uri_messages_name_the_form_and_each_part_rule() -> None:
    def table_reason(uri):
        bq_ = {} if uri is None else {"table_uri": uri}
        return reason_for(check_export({"dicom_store": STORE, "bigquery_destination": bq_}),
                          "bigquery_destination.table_uri")
    assert table_reason(None) == "is required: bq://PROJECT.DATASET.TABLE"
    reason = table_reason("bq://my-project.d-s.t")
    assert "'bq://my-project.d-s.t' is not bq://PROJECT.DATASET.TABLE" in reason
    assert "the project holds lowercase letters, digits and '-'" in reason
    assert "the dataset letters, digits and '_'" in reason
    assert "the table letters, digits, '_', '-' and spaces" in reason
    assert "is 2001 characters long; at most 2000" in table_reason("bq://p.d." + "t" * (2001 - 9))


@pytest.mark.parametrize("seconds", [1, 0.5, 1e-3, 1.0])
def test_any_positive_timeout_is_accepted(seconds) -> None:
    assert check_import(imp(timeout_seconds=seconds)) == []


@pytest.mark.parametrize("seconds", ["10", [30], 0, -0.5, float("nan")])
def test_a_timeout_that_is_not_a_positive_number_names_the_rule(seconds) -> None:
    reason = reason_for(check_import(imp(timeout_seconds=seconds)), "timeout_seconds")
    assert reason == f"{seconds!r} must be a number of seconds > 0"


#: A class named like pulumi's Unknown, from another module.
LookAlike = type("Unknown", (), {})


def test_only_pulumis_unknown_counts_as_unknown() -> None:
    from pulumi.asset import StringAsset
    from pulumi_dicom_jobs.validation import contains_unknown, is_unknown
    assert not is_unknown(LookAlike()) and not is_unknown(StringAsset("x"))
    assert paths(check_import(imp(dicom_store=LookAlike()))) == ["dicom_store"]
    assert paths(check_import(imp(dicom_store=StringAsset("x")))) == ["dicom_store"]
    assert not contains_unknown({"a": [1, {"b": "x"}]})


@pytest.mark.parametrize("unknown", [Unknown(), rpc.UNKNOWN])
def test_an_unknown_nested_in_a_mapping_or_a_list_is_unknown(unknown) -> None:
    from pulumi_dicom_jobs.validation import contains_unknown
    assert contains_unknown({"a": unknown}) and contains_unknown({"a": {"b": [1, unknown]}})
    assert contains_unknown([1, unknown]) and contains_unknown((unknown,))


def test_rules_wait_for_an_unknown_destination_or_disposition() -> None:
    """An unknown value may still resolve to anything: nothing that depends on it is reported."""
    for unknown in (Unknown(), rpc.UNKNOWN):
        assert check_export({"dicom_store": STORE, "gcs_destination": unknown,
                             "bigquery_destination": {"table_uri": "bq://my-project.ds.t"}}) == []
        assert check_export(bq(force=True, write_disposition=unknown)) == []


def test_force_beside_a_disposition_says_what_to_set_instead() -> None:
    [(_, reason)] = check_export(bq(force=True, write_disposition="WRITE_EMPTY"))
    assert "force=true is ignored by the API when write_disposition is set" in reason
    assert "set only write_disposition (WRITE_TRUNCATE overwrites)" in reason


def test_reserved_keys_are_skipped_but_later_keys_still_checked() -> None:
    """``__provider`` (added by the engine) sorts before lowercase keys: it must not end the scan."""
    failures = check_import(imp(__provider="x", __zzz="y", bogus=1))
    assert paths(failures) == ["bogus"]
    assert f"unknown property 'bogus'; expected one of {', '.join(sorted(IMPORT_KEYS))}" == failures[0][1]


def test_nested_objects_say_they_are_required_or_list_their_fields() -> None:
    assert check_import({"dicom_store": STORE}) == [("gcs_source", "is required")]
    f = check_export(exp(gcs_destination="gs://bucket/o"))
    assert f == [("gcs_destination", "must be an object with mime_type, uri_prefix")]
    f = check_import(imp(gcs_source=["gs://bucket/o"]))
    assert f == [("gcs_source", "must be an object with uri")]


@pytest.mark.parametrize("junk", [None, 1, "x", []])
def test_inputs_that_are_not_an_object_are_one_failure_on_the_whole(junk) -> None:
    assert check_import(junk) == [("", "inputs must be an object")]
    assert check_export(junk) == [("", "inputs must be an object")]


def test_a_rule_that_raises_becomes_a_failure_naming_the_error() -> None:
    """A rule must never take ``check`` down: its exception is reported on the property."""
    from pulumi_dicom_jobs.validation import _Collector
    c = _Collector()
    c.rule("some.path", "value", lambda value: 1 / 0)
    assert c.failures == [("some.path", "could not be checked: ZeroDivisionError")]


@pytest.mark.parametrize(
    "value, bucket",
    [("gs://my-bucket/dir/**.dcm", "my-bucket"), ("gs://my-bucket", "my-bucket"), ("my.bucket_1", "my.bucket_1")],
)
def test_bucket_of(value: str, bucket: str) -> None:
    """The pulumi-gcp helpers' buckets (gcp.grants.bucket_of): a name or a gs:// URI's."""
    assert validation.bucket_of(value) == bucket


@pytest.mark.parametrize("value", ["", "gs://", "a/b", "bq://p.d.t", "my-project:scans", "UPPER", "x",
                                   "goog-scans", "10.0.0.1", "a" * 64, "gs://-dash/x", "a..b"])
def test_bucket_of_refuses_what_the_check_refuses(value: str) -> None:
    """One bucket rule: the helpers refuse exactly the names ``check`` refuses, saying why."""
    with pytest.raises(ValueError) as info:
        validation.bucket_of(value)
    bucket = names.split_gs_uri(value)[0] if value.startswith("gs://") else value
    if "/" in bucket or ":" in bucket:
        assert str(info.value) == f"not a bucket name or gs:// URI: {value!r}"
    else:
        assert str(info.value) == f"{value!r}: {validation.bucket_problem(bucket)}"


@pytest.mark.parametrize("table_uri", ["bq://other-project.ds.t", "bq://example.com:my-project.ds.t"])
def test_v1beta1_refuses_a_dataset_outside_the_stores_project(table_uri: str) -> None:
    """Seed 000 (the v1beta1 export reference): only a dataset in the store's project."""
    [(path, reason)] = check_export(bq(table_uri=table_uri) | {"api_version": "v1beta1"})
    assert path == "bigquery_destination.table_uri"
    assert reason.startswith("API version v1beta1 exports only to a BigQuery dataset in the DICOM "
                             f"store's project (my-project); {table_uri!r} is in project ")
    assert "api_version v1, which exports to another project" in reason


@pytest.mark.parametrize("props", [
    {"api_version": "v1", "bigquery_destination": {"table_uri": "bq://other-project.ds.t"}},
    {"bigquery_destination": {"table_uri": "bq://other-project.ds.t"}},  # v1 by default
    {"api_version": "v1beta1", "bigquery_destination": {"table_uri": "bq://my-project.ds.t"}},
    # a store named by its project number cannot be compared offline: the API decides
    {"api_version": "v1beta1", "bigquery_destination": {"table_uri": "bq://other-project.ds.t"},
     "dicom_store": "projects/123456789012/locations/us-central1/datasets/ds/dicomStores/store"},
    {"api_version": Unknown(), "bigquery_destination": {"table_uri": "bq://other-project.ds.t"}},
    {"api_version": "v1beta1", "bigquery_destination": {"table_uri": Unknown()}},
    {"api_version": "v1beta1", "bigquery_destination": {"table_uri": "bq://other-project.ds.t"},
     "dicom_store": Unknown()},
], ids=["v1", "default-v1", "same-project", "store-by-number", "unknown-version", "unknown-table",
        "unknown-store"])
def test_the_same_project_rule_holds_only_where_it_can_be_known(props: dict) -> None:
    assert check_export({"dicom_store": STORE, **props}) == []


@pytest.mark.parametrize("props, field", [
    ({"bigquery_destination": {"table_uri": "bq://other-project.ds"}}, "bigquery_destination.table_uri"),
    ({"bigquery_destination": {"table_uri": "bq://other-project.ds.t"}, "dicom_store": "not-a-store"},
     "dicom_store"),
], ids=["bad-table", "bad-store"])
def test_the_same_project_rule_adds_nothing_to_an_input_already_refused(props: dict, field: str) -> None:
    """One message per mistake: the project comparison runs only on a store and a table that parse."""
    failures = check_export({"dicom_store": STORE, "api_version": "v1beta1", **props})
    assert [path for path, _ in failures] == [field], failures
    assert not any("exports only to a BigQuery dataset" in reason for _, reason in failures)
