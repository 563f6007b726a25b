"""The Python face registers ``dicom-jobs:index:*`` resources with camelCase inputs, and the
plugin's camelCase outputs come back as the same snake_case attributes as the dynamic resources'."""

from __future__ import annotations

import pulumi
import pytest

from pulumi_dicom_jobs.plugin import DicomExportJob, DicomImportJob, GcsSourceArgs


class _Mocks(pulumi.runtime.Mocks):
    """Answers as the plugin does: the inputs (camelCase) plus the operation's outputs.

    Registrations are recorded by resource name: the SDK registers resources
    concurrently, so the order they arrive in is not the program's order.
    """

    def __init__(self) -> None:
        self.registered: dict[str, tuple[str, dict]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.registered[args.name] = (args.typ, dict(args.inputs))
        return "op-1", {**args.inputs, "operationName": "op-1", "successCount": 3.0, "failureCount": 0.0,
                        "apiMethodName": "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData"}

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@pytest.fixture
def mocks():
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, project="p", stack="s", preview=False)
    yield mocks


@pulumi.runtime.test
def test_the_python_face_speaks_camel_case_on_the_wire(mocks: _Mocks):
    job = DicomImportJob("ct", dicom_store="projects/p/locations/l/datasets/d/dicomStores/s",
                         gcs_source=GcsSourceArgs(uri="gs://b/x/**.dcm"),
                         blob_storage_settings={"blob_storage_class": "ARCHIVE"}, max_failed_instances=2)
    export = DicomExportJob("out", dicom_store="projects/p/locations/l/datasets/d/dicomStores/s",
                   bigquery_destination={"table_uri": "bq://p.d.t", "write_disposition": "WRITE_APPEND"})

    def check(values):
        operation, success, source, settings, _export_operation = values
        assert (operation, success) == ("op-1", 3)
        assert source == {"uri": "gs://b/x/**.dcm"} and settings == {"blob_storage_class": "ARCHIVE"}
        types = {name: typ for name, (typ, _) in mocks.registered.items()}
        assert types == {"ct": "dicom-jobs:index:DicomImportJob", "out": "dicom-jobs:index:DicomExportJob"}
        (_, imported), (_, exported) = mocks.registered["ct"], mocks.registered["out"]
        assert imported["dicomStore"].endswith("/dicomStores/s") and imported["maxFailedInstances"] == 2
        assert imported["gcsSource"] == {"uri": "gs://b/x/**.dcm"}
        assert imported["blobStorageSettings"] == {"blobStorageClass": "ARCHIVE"}
        assert exported["bigqueryDestination"] == {"tableUri": "bq://p.d.t", "writeDisposition": "WRITE_APPEND"}

    return pulumi.Output.all(job.operation_name, job.success_count, job.gcs_source,
                             job.blob_storage_settings, export.operation_name).apply(check)


@pulumi.runtime.test
def test_whole_number_outputs_come_back_as_ints(mocks: _Mocks):
    """Numbers cross the wire as doubles (``3.0``); the declared ``int`` outputs arrive as ints, as
    a generated SDK's typed getters (keyed by the wire name ``successCount``) make them."""
    job = DicomImportJob("ct", dicom_store="projects/p/locations/l/datasets/d/dicomStores/s",
                         gcs_source=GcsSourceArgs(uri="gs://b/x/**.dcm"))

    def check(counts):
        assert [(type(count), count) for count in counts] == [(int, 3), (int, 0)]

    return pulumi.Output.all(job.success_count, job.failure_count).apply(check)

