"""Import/export operations end to end: real GCS/BigQuery emulators, real data plane."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from healthcare_emulator.sampledata import broken_file, synthetic_instance, synthetic_study, uids_of
from healthcare_emulator.waiting import poll
from support.data import new_bucket, storage_client
from support.emulator import PROJECT, HealthcareApi, error_of

pytestmark = pytest.mark.usefixtures("iam_off")  # not about IAM: see the fixture

TYPE = "type.googleapis.com/google.cloud.healthcare.{v}."


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def gcs(stack):
    return storage_client()


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_import_success_shape(stack, emulator, gcs, unique, version):
    api = HealthcareApi(stack.healthcare_url, version)
    store = api.create_store(f"ds-{unique}")
    files = {f"in/{i}.dcm": data for i, data in enumerate(synthetic_study(series=1, per_series=3))}
    bucket = new_bucket(gcs, files)
    name = api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket.name}/in/*.dcm"}})
    assert name.startswith(store.split("/dicomStores/")[0] + "/operations/")
    op = api.wait_done(name)
    meta = op["metadata"]
    assert op["done"] is True and "error" not in op
    assert op["response"] == {"@type": TYPE.format(v=version) + "dicom.ImportDicomDataResponse"}
    assert meta["@type"] == TYPE.format(v=version) + "OperationMetadata"
    assert meta["apiMethodName"] == f"google.cloud.healthcare.{version}.dicom.DicomService.ImportDicomData"
    assert meta["counter"] == {"success": "3"}  # int64 as strings, zeros omitted
    assert meta["cancelRequested"] is False
    assert _time(meta["createTime"]) <= _time(meta["endTime"])
    # logsUrl points at the admin logs endpoint of this operation.
    assert meta["logsUrl"] == f"{stack.healthcare_url}/_emulator/logs/{name}"
    entries = requests.get(meta["logsUrl"], timeout=10).json()["entries"]
    assert entries and all({"severity", "message", "resource"} <= set(e) for e in entries)
    # The admin view lists it with its request body.
    listed = {o["name"]: o for o in emulator.get("operations")["operations"]}
    assert listed[name]["request"] == {"gcsSource": {"uri": f"gs://{bucket.name}/in/*.dcm"}}
    assert listed[name]["store"] == store and listed[name]["done"] is True


def test_counters_are_live_and_cancel_ends_cancelled(stack, emulator, gcs, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    bucket = new_bucket(gcs, {f"{i}.dcm": synthetic_instance(seed=i) for i in range(12)})
    emulator.post("config", {"instanceDelaySeconds": 0.2})
    name = api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket.name}/*"}})

    def partly_done():
        op = api.operation(name)
        counter = op["metadata"].get("counter", {})
        return op if not op["done"] and counter.get("success") not in (None, "0") else None

    running = poll(partly_done, deadline_s=20, what="a running operation with progress")
    counter = running["metadata"]["counter"]
    assert isinstance(counter["success"], str) and isinstance(counter["pending"], str)
    assert 0 < int(counter["success"]) < 12 and int(counter["pending"]) > 0
    assert "endTime" not in running["metadata"] and "response" not in running
    assert [o["done"] for o in emulator.get("operations")["operations"] if o["name"] == name] == [False]

    assert api.post(f"{name}:cancel").json() == {}
    op = api.wait_done(name)
    assert op["error"]["code"] == 1
    assert op["metadata"]["cancelRequested"] is True
    assert int(op["metadata"]["counter"].get("success", "0")) < 12
    assert "response" not in op
    # Cancelling a finished operation changes nothing; a missing one is NOT_FOUND.
    assert api.post(f"{name}:cancel").status_code == 200
    assert api.operation(name)["error"]["code"] == 1
    missing = api.post(f"{name}999:cancel")
    assert missing.status_code == 404 and error_of(missing)["status"] == "NOT_FOUND"


def test_operation_min_seconds_keeps_it_running(stack, emulator, gcs, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    bucket = new_bucket(gcs, {"a.dcm": synthetic_instance()})
    emulator.post("config", {"operationMinSeconds": 1.0})
    name = api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket.name}/a.dcm"}})
    assert api.operation(name)["done"] is False
    op = api.wait_done(name)
    meta = op["metadata"]
    assert (_time(meta["endTime"]) - _time(meta["createTime"])).total_seconds() >= 1.0
    assert "response" in op


def test_item_failures_give_error_with_sample_errors(stack, emulator, gcs, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    files = {f"bad{i}.dcm": broken_file() for i in range(3)}
    files.update({f"good{i}.dcm": synthetic_instance(seed=i) for i in range(2)})
    bucket = new_bucket(gcs, files)
    emulator.post("config", {"maxSampleErrors": 2})
    op = api.wait_done(api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket.name}/**"}}))
    assert "response" not in op
    assert op["metadata"]["counter"] == {"success": "2", "failure": "3"}
    error = op["error"]
    assert error["code"] == 3 and error["message"]
    [details] = error["details"]
    assert details["@type"] == TYPE.format(v="v1") + "dicom.ImportDicomDataErrorDetails"
    assert len(details["sampleErrors"]) == 2  # capped at maxSampleErrors
    for sample in details["sampleErrors"]:
        assert sample["resource"].startswith(f"gs://{bucket.name}/bad")
        assert sample["error"]["code"] == 3 and sample["error"]["message"]


def test_operation_level_failure(stack, emulator, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    op = api.wait_done(api.start(store, "import", {"gcsSource": {"uri": f"gs://missing-{unique}/*.dcm"}}))
    assert op["error"]["code"] == 5 and "response" not in op
    assert f"missing-{unique}" in op["error"]["message"]


def test_import_pattern_matching_nothing_is_an_operation_error_naming_it(stack, emulator, gcs, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    bucket = new_bucket(gcs, {"in/a.dcm": synthetic_instance()})
    pattern = f"gs://{bucket.name}/elsewhere/**.dcm"
    op = api.wait_done(api.start(store, "import", {"gcsSource": {"uri": pattern}}))
    assert op["error"]["code"] == 5 and "response" not in op
    assert pattern in op["error"]["message"] and "resolved to zero objects" in op["error"]["message"]


def test_export_to_gcs_and_bigquery(stack, emulator, gcs, unique):
    api = HealthcareApi(stack.healthcare_url, "v1beta1")
    store = api.create_store(f"ds-{unique}")
    files = {f"{i}.dcm": d for i, d in enumerate(synthetic_study(series=1, per_series=2))}
    source = new_bucket(gcs, files)
    assert "response" in api.wait_done(api.start(store, "import", {"gcsSource": {"uri": f"gs://{source.name}/*"}}))

    target = new_bucket(gcs)
    op = api.wait_done(api.start(store, "export", {"gcsDestination": {"uriPrefix": f"gs://{target.name}/out",
                                                                      "mimeType": "application/dicom"}}))
    assert op["metadata"]["apiMethodName"] == "google.cloud.healthcare.v1beta1.dicom.DicomService.ExportDicomData"
    assert op["response"] == {"@type": TYPE.format(v="v1beta1") + "dicom.ExportDicomDataResponse"}
    written = sorted(b.name for b in gcs.list_blobs(target.name))
    expected = sorted(f"out/{u.study}/{u.series}/{u.sop}.dcm" for u in map(uids_of, files.values()))
    assert written == expected

    bq = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials(),
                         client_options={"api_endpoint": stack.bigquery_url})
    dataset = f"svc_{uuid.uuid4().hex[:8]}"
    bq.create_dataset(bigquery.Dataset(f"{PROJECT}.{dataset}"))
    op = api.wait_done(api.start(store, "export", {"bigqueryDestination": {
        "tableUri": f"bq://{PROJECT}.{dataset}.meta", "writeDisposition": "WRITE_TRUNCATE"}}))
    assert op["metadata"]["apiMethodName"].endswith("DicomService.ExportDicomData_bq")
    # Seed 004's sample: a BigQuery export answers google.protobuf.Empty, not ExportDicomDataResponse.
    assert op["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}, op
    rows = list(bq.query(f"SELECT SOPInstanceUID FROM `{PROJECT}.{dataset}.meta`").result())
    assert sorted(r[0] for r in rows) == sorted(u.sop for u in map(uids_of, files.values()))


def test_operations_list_pages_and_refuses_any_filter(stack, emulator, gcs, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    dataset = store.split("/dicomStores/")[0]
    bucket = new_bucket(gcs, {"a.dcm": synthetic_instance()})
    api.wait_done(api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket.name}/a.dcm"}}))
    api.wait_done(api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket.name}/none*"}}))
    api.wait_done(api.start(store, "export", {"gcsDestination": {"uriPrefix": f"gs://{bucket.name}/o"}}))
    emulator.post("config", {"instanceDelaySeconds": 5})
    running = api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket.name}/a.dcm"}})

    def names(**params):
        response = api.get(f"{dataset}/operations", **params)
        assert response.status_code == 200, response.text
        return [o["name"] for o in response.json().get("operations", [])]

    everything = names()
    assert len(everything) == 5  # CreateDataset + 4 jobs
    assert names(filter="") == everything  # an empty filter is no filter
    # The API documents no filter grammar for operations.list ("the standard list
    # filter"): any filter is refused, so no client can come to depend on one.
    for text in ("done = false", 'metadata.api_method_name = "x"',
                 'metadata.create_time >= "2026-01-01T00:00:00Z"', "done = maybe"):
        response = api.get(f"{dataset}/operations", filter=text)
        assert response.status_code == 400, text
        assert error_of(response)["status"] == "INVALID_ARGUMENT"
        assert "filter" in error_of(response)["message"]

    paged, token = [], None
    while True:
        body = api.get(f"{dataset}/operations", pageSize=2, **({"pageToken": token} if token else {})).json()
        assert len(body["operations"]) <= 2
        paged += [o["name"] for o in body["operations"]]
        token = body.get("nextPageToken")
        if not token:
            break
    assert paged == everything
    assert names(pageSize=1) == [everything[0]]
    assert api.get(f"{dataset}/operations", pageSize="x").status_code == 400
    api.post(f"{running}:cancel")
    assert api.wait_done(running)["error"]["code"] == 1


def test_a_history_of_finished_operations_in_one_admin_call(stack, emulator, unique):
    """POST /_emulator/operations/history: thousands of finished imports, ended an hour ago
    (so listed, oldest first, before the dataset's creation), at most 1000 a page."""
    api = HealthcareApi(stack.healthcare_url)
    dataset = api.create_store(f"ds-{unique}").split("/dicomStores/")[0]
    emulator.add_history(dataset, 2500)
    listed, token, sizes = [], None, []
    while True:
        body = api.get(f"{dataset}/operations", pageSize=5000, **({"pageToken": token} if token else {})).json()
        sizes.append(len(body["operations"]))
        listed += body["operations"]
        token = body.get("nextPageToken")
        if not token:
            break
    assert sizes == [1000, 1000, 501]  # an oversized pageSize is capped at 1000
    history = listed[:-1]
    assert listed[-1]["metadata"]["apiMethodName"].endswith("CreateDataset")
    assert all(op["done"] and op["metadata"]["apiMethodName"].endswith("ImportDicomData")
               and op["response"]["@type"].endswith("ImportDicomDataResponse") for op in history)
    created = [_time(op["metadata"]["createTime"]) for op in history]
    assert created == sorted(created) and len(set(o["name"] for o in history)) == 2500
    assert (datetime.now(created[-1].tzinfo) - _time(history[-1]["metadata"]["endTime"])).total_seconds() >= 3600
    assert api.get(history[0]["name"]).json()["done"] is True

    for body, status in (({"dataset": f"{dataset}x", "count": 1}, 404), ({"dataset": dataset, "count": 0}, 400),
                         ({"dataset": dataset, "count": True}, 400), ({"dataset": dataset, "count": "9"}, 400),
                         ({"count": 5}, 400), ({"dataset": dataset, "count": 100_001}, 400)):
        response = requests.post(f"{stack.healthcare_url}/_emulator/operations/history", json=body, timeout=10)
        assert response.status_code == status, (body, response.text)


def test_forget_and_dataset_scoping(stack, emulator, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    name = api.start(store, "import", {"gcsSource": {"uri": "gs://nobucket-here/*.dcm"}})
    api.wait_done(name)
    emulator.post("operations/forget", {"name": name})
    response = api.get(name)
    assert response.status_code == 404 and error_of(response)["status"] == "NOT_FOUND"
    assert name not in [o["name"] for o in emulator.get("operations")["operations"]]
    # An operation is only visible under its own dataset.
    other = HealthcareApi(stack.healthcare_url).create_store(f"other-{unique}")
    name = api.start(store, "import", {"gcsSource": {"uri": "gs://nobucket-here/*.dcm"}})
    moved = name.replace(f"datasets/ds-{unique}/", f"datasets/other-{unique}/")
    assert other and api.get(moved).status_code == 404
    assert api.get(f"{store.split('/dicomStores/')[0]}/operations/12345").status_code == 404
    assert api.post(f"{store.replace('/store', '/nostore')}:import",
                    {"gcsSource": {"uri": "gs://b/x.dcm"}}).status_code == 404
