"""Every lifecycle method of both providers against the emulator over HTTP."""

from __future__ import annotations

import pytest
from google.cloud import bigquery

from healthcare_emulator import sampledata
from support.data import synthetic
from support.workspace import Workspace
from pulumi_dicom_jobs import DicomExportJobProvider, DicomImportJobProvider
from pulumi_dicom_jobs.failures import JobFailed


def test_import_create_read_update_delete(env: Workspace) -> None:
    for index, data in enumerate(synthetic(3)):
        env.upload(f"in/{index}.dcm", data)
    env.upload("in/broken.dcm", sampledata.broken_file())
    provider = DicomImportJobProvider()
    props = {"dicom_store": env.store, "gcs_source": {"uri": f"gs://{env.bucket.name}/in/**.dcm"},
             "max_failed_instances": 1.0, "timeout_seconds": 60.0, "triggers": ["v1"],
             "blob_storage_settings": {"blob_storage_class": "ARCHIVE"}}
    assert provider.check({}, props).failures == []
    created = provider.create(props)
    outs = created.outs
    assert created.id == outs["operation_name"] and "/operations/" in created.id
    assert (outs["success_count"], outs["failure_count"]) == (3, 1)
    assert outs["api_method_name"].endswith("DicomService.ImportDicomData")
    assert outs["create_time"] and outs["end_time"] and outs["logs_url"]
    assert outs["gcs_source"] == props["gcs_source"] and outs["triggers"] == ["v1"]
    [operation] = env.operations()
    assert operation["request"] == {"gcsSource": {"uri": f"gs://{env.bucket.name}/in/**.dcm"},
                                    "blobStorageSettings": {"blobStorageClass": "ARCHIVE"}}

    read = provider.read(created.id, {**outs, "__provider": "x"})
    assert read.id == created.id and read.outs["success_count"] == 3 and read.outs["end_time"] == outs["end_time"]

    before = env.request_count()
    news = {**props, "timeout_seconds": 120.0, "max_failed_instances": 2.0}
    diff = provider.diff(created.id, outs, news)
    assert diff.changes and diff.replaces == []
    updated = provider.update(created.id, outs, news).outs
    assert updated["timeout_seconds"] == 120.0 and updated["operation_name"] == created.id
    assert updated["success_count"] == 3
    assert provider.diff(created.id, updated, news).changes is False
    assert provider.diff(created.id, updated, {**news, "triggers": ["v2"]}).replaces == ["triggers"]
    provider.delete(created.id, updated)
    assert env.request_count() == before  # diff, update and delete touch nothing
    assert len(env.operations()) == 1


def test_import_too_many_failures_message(env: Workspace) -> None:
    env.upload("in/good.dcm", synthetic(1)[0])
    env.upload("in/bad.dcm", sampledata.broken_file())
    with pytest.raises(JobFailed) as info:
        DicomImportJobProvider().create({"dicom_store": env.store,
                                         "gcs_source": {"uri": f"gs://{env.bucket.name}/in/*"}})
    text = str(info.value)
    assert info.value.reason == "too_many_failures"
    assert "success=1 failure=1" in text and f"gs://{env.bucket.name}/in/bad.dcm" in text
    assert info.value.operation.name in text and info.value.operation.logs_url in text
    assert "code " in text


def test_invalid_inputs_fail_before_any_request(env: Workspace) -> None:
    before = env.request_count()
    with pytest.raises(JobFailed) as info:
        DicomImportJobProvider().create({"dicom_store": env.store, "gcs_source": {"uri": "gs://b/**/x"}})
    assert info.value.reason == "invalid_input" and "gcs_source.uri" in str(info.value)
    assert env.request_count() == before


def test_missing_source_is_an_operation_error(env: Workspace) -> None:
    with pytest.raises(JobFailed) as info:
        DicomImportJobProvider().create({"dicom_store": env.store,
                                         "gcs_source": {"uri": f"gs://{env.bucket.name}/nothing/**"}})
    assert info.value.reason in ("operation_error", "start_failed")


def test_read_of_a_forgotten_operation_keeps_state(env: Workspace) -> None:
    name = env.import_files(synthetic(1))
    env.admin.post("operations/forget", {"name": name})
    state = {"dicom_store": env.store, "gcs_source": {"uri": "gs://x/y"}, "operation_name": name,
             "success_count": 1, "failure_count": 0, "__provider": "p"}
    result = DicomImportJobProvider().read(name, state)
    assert result.id == name
    assert result.outs == {k: v for k, v in state.items() if k != "__provider"}


def test_read_with_no_prior_state_reads_the_operation(env: Workspace) -> None:
    """What ``pulumi import`` sends: the operation name and no recorded outputs."""
    name = env.import_files(synthetic(2))
    result = DicomImportJobProvider().read(name, {})
    assert result.id == name
    assert result.outs["operation_name"] == name and result.outs["success_count"] == 2
    assert result.outs["failure_count"] == 0 and result.outs["end_time"] and result.outs["create_time"]
    assert result.outs["api_method_name"].endswith("ImportDicomData")
    assert not {"dicom_store", "gcs_source"} & set(result.outs)  # no inputs invented


GCS_MIME_CASES = [
    (None, ".dcm"), ("application/dicom", ".dcm"), ("application/dicom; transfer-syntax=*", ".dcm"),
    ("application/dicom; transfer-syntax=1.2.840.10008.1.2.1", ".dcm"),
    ("application/octet-stream; transfer-syntax=*", ""), ("image/jpeg", ".jpg"), ("image/png", ".png"),
]


@pytest.mark.parametrize("mime,ext", GCS_MIME_CASES)
def test_export_to_gcs_each_mime_family(env: Workspace, mime, ext: str) -> None:
    env.import_files(synthetic(2))
    destination = {"uri_prefix": f"gs://{env.bucket.name}/out"}
    if mime:
        destination["mime_type"] = mime
    created = DicomExportJobProvider().create({"dicom_store": env.store, "gcs_destination": destination})
    assert created.outs["success_count"] == 2
    assert created.outs["api_method_name"].endswith("DicomService.ExportDicomData")
    names = env.objects("out/")
    assert len(names) == 2 and all(name.count("/") == 3 for name in names), names
    assert all(name.endswith(ext) if ext else not name.endswith((".dcm", ".jpg", ".png")) for name in names)
    [_, export_op] = env.operations()
    assert export_op["request"]["gcsDestination"] == {k: v for k, v in {
        "uriPrefix": destination["uri_prefix"], "mimeType": mime}.items() if v}


def test_filtered_export(env: Workspace) -> None:
    first, second = sampledata.synthetic_study(1, 2), sampledata.synthetic_study(1, 1)
    env.import_files(first + second)
    study = sampledata.uids_of(first[0]).study
    filter_uri = env.upload("filter.txt", f"/studies/{study}\n".encode())
    created = DicomExportJobProvider().create({
        "dicom_store": env.store, "gcs_destination": {"uri_prefix": f"gs://{env.bucket.name}/f"},
        "filter_config": {"resource_paths_gcs_uri": filter_uri}})
    assert created.outs["success_count"] == 2
    assert {name.split("/")[1] for name in env.objects("f/")} == {study}


def _bq_props(env: Workspace, table: str, **fields) -> dict:
    return {"dicom_store": env.store, "bigquery_destination": {"table_uri": f"bq://{table}", **fields}}


def test_export_to_bigquery_write_dispositions_and_force(env: Workspace) -> None:
    env.import_files(synthetic(2))
    table = f"local-project.{env.new_bq_dataset()}.instances"
    provider = DicomExportJobProvider()
    out = provider.create(_bq_props(env, table, write_disposition="WRITE_EMPTY")).outs
    assert out["success_count"] == 2 and out["api_method_name"].endswith("ExportDicomData_bq")
    assert env.rows(table) == 2
    provider.create(_bq_props(env, table, write_disposition="WRITE_APPEND"))
    assert env.rows(table) == 4
    # appending a column the table lacks fails, naming it: the export adds no column
    with pytest.raises(JobFailed, match="has no column.s. SourceDicomStore"):
        provider.create(_bq_props(env, table, write_disposition="WRITE_APPEND", include_source_store=True))
    provider.create(_bq_props(env, table, write_disposition="WRITE_TRUNCATE", schema="FLATTENED",
                              include_source_store=True))
    assert env.rows(table) == 2
    with pytest.raises(JobFailed) as info:
        provider.create(_bq_props(env, table, write_disposition="WRITE_EMPTY"))
    assert info.value.reason in ("operation_error", "too_many_failures", "start_failed")
    with pytest.raises(JobFailed):
        provider.create(_bq_props(env, table))  # force unset, table exists
    provider.create(_bq_props(env, table, force=True))
    assert env.rows(table) == 2
    new_table = f"local-project.{env.new_bq_dataset()}.fresh"
    provider.create(_bq_props(env, new_table, force=False, schema="JSON"))
    assert env.rows(new_table) == 2
    requests = [op["request"]["bigqueryDestination"] for op in env.operations()[1:]]
    assert requests[0] == {"tableUri": f"bq://{table}", "writeDisposition": "WRITE_EMPTY"}
    assert "includeSourceStore" not in requests[1] and requests[2]["includeSourceStore"] is True
    assert requests[3]["schemaFlattened"] == {} and requests[3]["includeSourceStore"] is True
    assert requests[-1] == {"tableUri": f"bq://{new_table}", "force": False, "schemaJson": {}}


def test_v1beta1_export(env: Workspace) -> None:
    env.import_files(synthetic(1))
    out = DicomExportJobProvider().create({"dicom_store": env.store, "api_version": "v1beta1",
                                           "gcs_destination": {"uri_prefix": f"gs://{env.bucket.name}/b"}}).outs
    assert out["api_method_name"] == "google.cloud.healthcare.v1beta1.dicom.DicomService.ExportDicomData"
