"""Request bodies are checked against the discovery documents (unit + over HTTP)."""

from __future__ import annotations

import pytest

from healthcare_emulator import body_validation, discovery
from healthcare_emulator.errors import ApiError
from support.emulator import HealthcareApi, error_of

pytestmark = pytest.mark.usefixtures("iam_off")  # not about IAM: see the fixture

EXPORT = "datasets.dicomStores.export"
IMPORT = "datasets.dicomStores.import"


def rejected(version: str, method: str, body: object) -> str:
    with pytest.raises(ApiError) as caught:
        body_validation.validate_request(version, method, body)
    assert caught.value.http_status == 400 and caught.value.status == "INVALID_ARGUMENT"
    return caught.value.message


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_unknown_fields_are_named_by_dotted_path(version):
    assert "gcsDestination.mimeTyp" in rejected(version, EXPORT, {"gcsDestination": {"mimeTyp": "x"}})
    assert '"gcsSourc"' in rejected(version, IMPORT, {"gcsSourc": {"uri": "gs://b/x"}})
    assert "filterConfig.resourcePathsGcsUri2" in rejected(
        version, EXPORT, {"filterConfig": {"resourcePathsGcsUri2": "gs://b/f"}})


def test_wrong_json_types_are_rejected():
    assert "gcsSource.uri" in rejected("v1", IMPORT, {"gcsSource": {"uri": 5}})
    assert "gcsSource" in rejected("v1", IMPORT, {"gcsSource": "gs://b/x"})
    assert "bigqueryDestination.force" in rejected(
        "v1", EXPORT, {"bigqueryDestination": {"tableUri": "bq://proj-1.d.t", "force": "yes"}})
    assert "labels.a" in rejected("v1", "datasets.dicomStores.create", {"labels": {"a": 1}})
    assert "notificationConfigs" in rejected("v1", "datasets.dicomStores.create",
                                             {"notificationConfigs": {"not": "a list"}})
    assert rejected("v1", IMPORT, ["not", "an", "object"])


def test_enum_values_must_be_in_the_enum():
    message = rejected("v1", EXPORT, {"bigqueryDestination": {"tableUri": "bq://proj-1.d.t",
                                                              "writeDisposition": "WRITE_SOMETIMES"}})
    assert "bigqueryDestination.writeDisposition" in message and "WRITE_APPEND" in message
    assert "blobStorageSettings.blobStorageClass" in rejected(
        "v1", IMPORT, {"gcsSource": {"uri": "gs://b/x"}, "blobStorageSettings": {"blobStorageClass": "COLD"}})


def test_valid_bodies_pass_and_are_normalised():
    body = {"bigquery_destination": {"table_uri": "bq://proj-1.d.t", "writeDisposition": "WRITE_APPEND",
                                     "schemaFlattened": {}, "force": None}}
    assert body_validation.validate_request("v1", EXPORT, body) == {
        "bigqueryDestination": {"tableUri": "bq://proj-1.d.t", "writeDisposition": "WRITE_APPEND",
                                "schemaFlattened": {}}}
    assert body_validation.validate_request("v1", IMPORT, None) == {}
    assert body_validation.validate_request("v1", "datasets.operations.cancel", {}) == {}
    assert "x" in rejected("v1", "datasets.operations.cancel", {"x": 1})


def test_version_specific_fields():
    body = {"bigqueryDestination": {"tableUri": "bq://proj-1.d.t", "changeDataCaptureConfig": {}}}
    assert "bigqueryDestination.changeDataCaptureConfig" in rejected("v1", EXPORT, body)
    assert body_validation.validate_request("v1beta1", EXPORT, body) == body


def test_int64_and_integer_formats():
    walker = body_validation._Walker(discovery.schemas("v1"))
    int64 = {"type": "string", "format": "int64"}
    assert walker.walk("12", int64, "n") == "12"
    assert walker.walk(12, int64, "n") == "12"
    for bad in ("1.5", "abc", True, str(2 ** 63)):
        with pytest.raises(ApiError):
            walker.walk(bad, int64, "n")
    int32 = {"type": "integer", "format": "int32"}
    assert walker.walk("7", int32, "n") == 7
    with pytest.raises(ApiError):
        walker.walk(2 ** 31, int32, "n")
    with pytest.raises(ApiError):
        walker.walk("2024-01-02", {"type": "string", "format": "google-datetime"}, "t")
    assert walker.walk("2024-01-02T03:04:05Z", {"type": "string", "format": "google-datetime"}, "t")


def test_discovery_document_loaded_once():
    assert discovery.document("v1") is discovery.document("v1")
    assert discovery.document("v1") is not discovery.document("v1beta1")
    assert discovery.request_schema_name("v1", IMPORT) == "ImportDicomDataRequest"


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_http_rejects_bad_bodies_before_starting_anything(stack, emulator, unique, version):
    api = HealthcareApi(stack.healthcare_url, version)
    store = api.create_store(f"ds-{unique}")
    cases = [
        ("export", {"gcsDestination": {"uriPrefix": "gs://b/x", "mimeTyp": "image/png"}},
         "gcsDestination.mimeTyp"),
        ("import", {"gcsSource": {"uri": ["gs://b/x"]}}, "gcsSource.uri"),
        ("export", {"bigqueryDestination": {"tableUri": "bq://proj-1.d.t", "writeDisposition": "NOPE"}},
         "writeDisposition"),
        # Rejected by the data plane's synchronous checks, answered as 400 too.
        ("export", {"gcsDestination": {"uriPrefix": "gs://b/x"},
                    "bigqueryDestination": {"tableUri": "bq://proj-1.d.t"}}, "bigqueryDestination"),
        ("import", {"gcsSource": {"uri": "gs://b/a**/x.dcm"}}, "gcsSource.uri"),
    ]
    for verb, body, named in cases:
        response = api.post(f"{store}:{verb}", body)
        assert response.status_code == 400, (body, response.text)
        error = error_of(response)
        assert error["status"] == "INVALID_ARGUMENT" and named in error["message"], (body, error)
    raw = api.session.post(api.url(f"{store}:import"), data=b"{not json", timeout=10)
    assert raw.status_code == 400
    assert emulator.get("operations")["operations"][1:] == []  # only the CreateDataset operation


def test_http_starts_an_export_with_force_beside_a_write_disposition(stack, emulator, unique):
    """The discovery document: with ``writeDisposition`` set, ``force`` is ignored, not refused."""
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    body = {"bigqueryDestination": {"tableUri": "bq://proj-1.d.t", "force": True, "writeDisposition": "WRITE_APPEND"}}
    response = api.post(f"{store}:export", body)
    assert response.status_code == 200, response.text
    assert "/operations/" in response.json()["name"]
    [started] = emulator.get("operations")["operations"][1:]
    assert started["request"] == body


@pytest.mark.parametrize("version, store_project, table_project, accepted", [
    ("v1beta1", "local-project", "other-project", False),
    ("v1beta1", "local-project", "local-project", True),
    ("v1beta1", "123456789012", "local-project", True),  # the store's project named by its number
    ("v1", "local-project", "other-project", True),
])
def test_v1beta1_exports_to_bigquery_only_in_the_stores_project(stack, emulator, unique, version, store_project,
                                                                 table_project, accepted):
    """Seed 000 and the v1beta1 discovery document: the dataset must be in the store's project;
    v1 exports to another project (the v1 BigQuery guide)."""
    api = HealthcareApi(stack.healthcare_url, version)
    store = api.create_store(f"ds-{unique}", project=store_project)
    table = f"bq://{table_project}.some_dataset.t"
    response = api.post(f"{store}:export", {"bigqueryDestination": {"tableUri": table}})
    if accepted:
        assert response.status_code == 200, response.text  # started (the dataset is another story)
        return
    assert response.status_code == 400
    message = error_of(response)["message"]
    assert message.startswith("bigqueryDestination.tableUri: on v1beta1 the BigQuery dataset must be in "
                              f"the DICOM store's project {store_project}, but {table} is in project "
                              f"{table_project}"), message
    assert [op for op in emulator.operations() if op.get("store")] == []
