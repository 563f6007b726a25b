"""Differential fuzzing: the provider's offline ``check`` vs the emulator's server-side validation.

For generated inputs (store names, import URIs with wildcards, export
prefixes, MIME types, BigQuery table URIs, option combinations) the
provider's ``check`` must never raise and must accept exactly what the
emulator accepts: the same request (built by the provider's own
``request_body``) is sent to the emulator's ``:import`` / ``:export`` (or,
for names, its dataset/store create); HTTP 400 means rejected. Buckets never
exist, so an accepted job's operation fails at once: only validation matters.

Profiles: ``default`` (~200 examples, ``make test``) and ``fuzz``
(>= 10,000, ``make fuzz`` sets ``HYPOTHESIS_PROFILE=fuzz``). The default
profile is derandomized: every example of a run comes from one seed, drawn
per run by ``tests/conftest.py`` and printed at the end of the run (no example
database either), so ``FUZZ_SEED=N make test`` replays a failure exactly.
``make fuzz`` keeps Hypothesis' own randomness and database.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

from healthcare_emulator import discovery
from pulumi_dicom_jobs import api_facts, request_body
from pulumi_dicom_jobs.dynamic.providers import DicomExportJobProvider, DicomImportJobProvider
from support.emulator import HealthcareApi, location

_COMMON = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
settings.register_profile("default", max_examples=200, database=None, **_COMMON)
settings.register_profile("fuzz", max_examples=10_000, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
settings.load_profile(PROFILE)
#: This run's seed (``make test``): set by tests/conftest.py, or FUZZ_SEED=N to replay.
FUZZ_SEED = int(os.environ.get("FUZZ_SEED") or 0)


def replayable(test):
    """Under the default profile, draw the examples from this run's seed."""
    return seed(FUZZ_SEED)(test) if PROFILE == "default" else test


# -- strategies -------------------------------------------------------------
# Every enum value the discovery document lists (the ..._UNSPECIFIED ones included),
# read from the document itself so a new value is fuzzed the day it appears.
_SCHEMAS = discovery.schemas("v1")
WRITE_DISPOSITIONS = tuple(
    _SCHEMAS["GoogleCloudHealthcareV1DicomBigQueryDestination"]["properties"]["writeDisposition"]["enum"])
BLOB_STORAGE_CLASSES = tuple(_SCHEMAS["BlobStorageSettings"]["properties"]["blobStorageClass"]["enum"])
_bucket_chars = "abcdefghijklmnopqrstuvwxyz0123456789-_."
buckets = st.one_of(
    st.from_regex(r"\A[a-z0-9][a-z0-9_-]{1,20}[a-z0-9]\Z"),
    st.text(_bucket_chars + "ABZ!", min_size=0, max_size=70),
    st.sampled_from(["goog-bucket", "192.168.1.1", "a", "ab", "a" * 64, "a.b" * 30, "x..y"]),
)
_segment = st.text("abcXYZ019-_.*?/ ", min_size=0, max_size=12)
objects = st.one_of(
    _segment,
    st.builds(lambda a, w, ext: f"{a}{w}{ext}", _segment,
              st.sampled_from(["", "*", "**", "?", "***", "**/", "*/**"]),
              st.sampled_from(["", ".dcm", ".DCM", "/x", "*", ".d?m", ".*"])),
)
gs_uris = st.one_of(
    st.builds(lambda b, o, slash: f"gs://{b}{'/' if slash else ''}{o}", buckets, objects, st.booleans()),
    st.sampled_from(["", "gs://", "gs:/b/o", "http://b/o", "gs://bucket-ok", "gs://bucket-ok/"]),
    st.text(max_size=20),
)
mime_types = st.one_of(
    st.sampled_from(api_facts.LISTED_MIME_TYPES),
    st.sampled_from(["application/dicom", "image/jpeg", "image/png", "application/octet-stream",
                     "text/plain", "", " ", "application/dicom;transfer-syntax=1.2.840.10008.1.2.1",
                     "APPLICATION/DICOM", "image/png; transfer-syntax=*", "application/dicom; transfer-syntax=1.2"]),
    st.text(max_size=30),
)
_bq_part = st.text("abcdefghijklmnopqrstuvwxyz0123456789_- .:A", min_size=0, max_size=14)
table_uris = st.one_of(
    st.builds(lambda p, d, t: f"bq://{p}.{d}.{t}", _bq_part, _bq_part, _bq_part),
    st.sampled_from(["bq://local-project.ds.tbl", "bq://p.d", "bigquery://x.y.z", "",
                     "bq://" + "a" * 2000, "bq://example.com:proj-1.ds.t"]),
)
maybe = lambda strategy: st.one_of(st.none(), strategy)  # noqa: E731
import_inputs = st.fixed_dictionaries({"gcs_source": st.fixed_dictionaries({"uri": gs_uris})}, optional={
    "blob_storage_settings": st.fixed_dictionaries(
        {"blob_storage_class": st.one_of(st.sampled_from(BLOB_STORAGE_CLASSES + ("standard", "")),
                                         st.text(max_size=8))}),
})
gcs_destination = st.fixed_dictionaries({"uri_prefix": gs_uris}, optional={"mime_type": mime_types})
bq_destination = st.fixed_dictionaries({"table_uri": table_uris}, optional={
    "force": st.booleans(),
    "write_disposition": st.sampled_from(WRITE_DISPOSITIONS + ("WRITE_X", "", "write_empty")),
})
export_inputs = st.one_of(
    st.fixed_dictionaries({"gcs_destination": gcs_destination},
                          optional={"filter_config": st.fixed_dictionaries({"resource_paths_gcs_uri": gs_uris})}),
    st.fixed_dictionaries({"bigquery_destination": bq_destination}),
    st.fixed_dictionaries({"gcs_destination": gcs_destination, "bigquery_destination": bq_destination}),
    st.just({}),
)
# The API version too: v1beta1 exports to BigQuery only in the store's project, v1 anywhere.
versioned_export_inputs = st.builds(lambda inputs, version: {**inputs, **({"api_version": version} if version else {})},
                                    export_inputs, st.sampled_from([None, "v1", "v1beta1"]))
ids = st.one_of(st.from_regex(r"\A[A-Za-z0-9_.-]{1,30}\Z"), st.text(min_size=0, max_size=20),
                st.sampled_from(["a" * 256, "a" * 257, ".", "..", "bad/id", "ok-id"]))


# -- fixtures -----------------------------------------------------------------
@pytest.fixture(scope="module")
def target(stack):
    """One dataset and store that every generated job is aimed at."""
    api = HealthcareApi(stack.healthcare_url, token="fuzz")
    store = api.create_store(f"fuzz{uuid.uuid4().hex[:8]}", "store", project=stack.project)
    return api.base_url, api.session, store, location(stack.project)


def _emulator_accepts(session: requests.Session, url: str, body: dict, **params) -> bool:
    response = session.post(url, json=body, params=params or None, timeout=30)
    assert response.status_code in (200, 400, 404, 409), (response.status_code, response.text[:300], body)
    return response.status_code in (200, 409)  # 409: a valid name created by an earlier example


def _force_beside_a_disposition(props: dict) -> bool:
    """``force: true`` beside a write disposition: the one place check is stricter on purpose.

    The service ignores ``force`` then (discovery document), so the body does
    not carry it and the emulator runs the job; ``check`` refuses it because a
    user who wrote ``force: true`` expects an overwrite that would not happen.
    """
    destination = props.get("bigquery_destination") or {}
    return destination.get("force") is True and destination.get("write_disposition") in api_facts.WRITE_DISPOSITIONS


def _folder_without_wildcard(props: dict) -> bool:
    """``gs://BUCKET/DIR/``: check refuses it (seed 001: not a documented form) with the
    patterns the user meant; the emulator, like the service, starts the job and fails it
    on a pattern that resolves to zero objects."""
    uri = (props.get("gcs_source") or {}).get("uri")
    if not isinstance(uri, str) or not uri.startswith("gs://"):
        return False
    obj = uri[len("gs://"):].partition("/")[2]
    return obj.endswith("/") and not any(ch in obj for ch in "*?")


def _provider_accepts(provider, props: dict) -> tuple[bool, list]:
    result = provider.check({}, props)  # must not raise
    return not result.failures, [(f.property, f.reason) for f in result.failures]


@replayable
@given(inputs=import_inputs)
@example(inputs={"gcs_source": {"uri": "gs://bucket-ok/dir/**.dcm"},
                 "blob_storage_settings": {"blob_storage_class": "BLOB_STORAGE_CLASS_UNSPECIFIED"}})
@example(inputs={"gcs_source": {"uri": "gs://bucket-ok/dir/**.dcm"}})
@example(inputs={"gcs_source": {"uri": "gs://bucket-ok/a*/**"}})
@example(inputs={"gcs_source": {"uri": "gs://bucket-ok/dir/"}})
def test_import_check_agrees_with_the_emulator(target, inputs) -> None:
    base, session, store, _ = target
    props = {"dicom_store": store, **inputs}
    ours, failures = _provider_accepts(DicomImportJobProvider(), props)
    theirs = _emulator_accepts(session, f"{base}/v1/{store}:import", request_body.build_import_body(props))
    if _folder_without_wildcard(props) and theirs:
        assert not ours and any("names a folder" in reason for _, reason in failures), failures
        return
    assert ours == theirs, f"provider {'accepts' if ours else 'rejects'} {inputs} {failures}; emulator " \
                           f"{'accepts' if theirs else 'rejects'}"


@replayable
@given(inputs=versioned_export_inputs)
@example(inputs={"bigquery_destination": {"table_uri": "bq://other-project.ds.tbl"}, "api_version": "v1beta1"})
@example(inputs={"bigquery_destination": {"table_uri": "bq://local-project.ds.tbl"}, "api_version": "v1beta1"})
@example(inputs={"bigquery_destination": {"table_uri": "bq://other-project.ds.tbl"}, "api_version": "v1"})
@example(inputs={"bigquery_destination": {"table_uri": "bq://p.d", "force": True}})
@example(inputs={"gcs_destination": {"uri_prefix": "gs://bucket-ok/out", "mime_type": "text/plain"}})
# Earlier disagreements, kept as fixed cases:
@example(inputs={"gcs_destination": {"uri_prefix": "gs://bucket-ok", "mime_type": ""}})
@example(inputs={"gcs_destination": {"uri_prefix": "gs://bucket-ok", "mime_type": " "}})
@example(inputs={"gcs_destination": {"uri_prefix": "gs://bucket-ok"}, "filter_config": {"resource_paths_gcs_uri": ""}})
@example(inputs={"gcs_destination": {"uri_prefix": "gs://bucket-ok/?"}})
@example(inputs={"bigquery_destination": {"table_uri": "bq://local-project.ds.tbl", "force": False,
                                          "write_disposition": "WRITE_EMPTY"}})
@example(inputs={"bigquery_destination": {"table_uri": "bq://local-project.ds.tbl",
                                          "write_disposition": "WRITE_DISPOSITION_UNSPECIFIED"}})
@example(inputs={"bigquery_destination": {"table_uri": "bq://local-project.ds.tbl", "force": True,
                                          "write_disposition": "WRITE_DISPOSITION_UNSPECIFIED"}})
@example(inputs={"bigquery_destination": {"table_uri": "bq://local-project.ds.tbl", "force": True,
                                          "write_disposition": "WRITE_APPEND"}})
def test_export_check_agrees_with_the_emulator(target, inputs) -> None:
    base, session, store, _ = target
    props = {"dicom_store": store, **inputs}
    ours, failures = _provider_accepts(DicomExportJobProvider(), props)
    version = props.get("api_version", "v1")
    theirs = _emulator_accepts(session, f"{base}/{version}/{store}:export", request_body.build_export_body(props))
    if _force_beside_a_disposition(props):
        assert not ours, f"provider accepts force=true beside a write disposition: {inputs}"
        if theirs:  # the emulator ignores force: only that rule may separate the two
            assert [path for path, _ in failures] == ["bigquery_destination.force"], (inputs, failures)
        return
    assert ours == theirs, f"provider {'accepts' if ours else 'rejects'} {inputs} {failures}; emulator " \
                           f"{'accepts' if theirs else 'rejects'}"


@replayable
@given(dataset=ids, store_id=ids)
@example(dataset="0", store_id="0#")
@example(dataset="0", store_id=".")
@example(dataset="0", store_id="\u00b2")
def test_store_names_agree_with_the_emulator(target, dataset, store_id) -> None:
    base, session, _, parent = target
    name = f"{parent}/datasets/{dataset}/dicomStores/{store_id}"
    ours, failures = _provider_accepts(DicomImportJobProvider(),
                                       {"dicom_store": name, "gcs_source": {"uri": "gs://bucket-ok/a.dcm"}})
    # The emulator's own rules for the two IDs, via its create calls (400 = invalid ID).
    ok_dataset = _emulator_accepts(session, f"{base}/v1/{parent}/datasets", {}, datasetId=dataset) \
        or session.get(f"{base}/v1/{parent}/datasets/{quote(dataset, safe='')}", timeout=30).status_code == 200 \
        if "/" not in dataset and dataset else False
    ok_store = False
    if ok_dataset and store_id and "/" not in store_id:
        ok_store = _emulator_accepts(session, f"{base}/v1/{parent}/datasets/{dataset}/dicomStores", {},
                                     dicomStoreId=store_id) \
            or session.get(f"{base}/v1/{parent}/datasets/{quote(dataset, safe='')}/dicomStores/"
                           f"{quote(store_id, safe='')}", timeout=30).status_code == 200
    assert ours == (ok_dataset and ok_store), f"{name!r}: provider {ours} {failures}; emulator " \
                                              f"dataset={ok_dataset} store={ok_store}"
