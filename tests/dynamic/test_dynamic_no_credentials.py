"""A create with no Google credentials, through the SDK's real dynamic provider host:
the same "no Google credentials found" text the CLI shows, no traceback of
google-auth, nothing sent (issue 16, section 2)."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import rpc

from support.credentials import adc_found, no_google_credentials_env
from pulumi_dicom_jobs import DicomImportJob, GcsSourceArgs
from pulumi_offline.host import DynamicProviderHost, HostError

STORE = "projects/p1/locations/us-central1/datasets/demo/dicomStores/ct"
URN = "urn:pulumi:test::dicom::pulumi-python:dynamic/dicom-jobs:DicomImportJob::imp"


class _Capture(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.inputs: dict = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.inputs = dict(args.inputs)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def _import_inputs() -> dict:
    mocks = _Capture()
    pulumi.runtime.set_mocks(mocks, project="dicom", stack="test", preview=False)

    @pulumi.runtime.test
    def program():
        job = DicomImportJob("imp", dicom_store=STORE, gcs_source=GcsSourceArgs(uri="gs://scans-demo/in/*.dcm"),
                             timeout_seconds=60)
        return job.urn

    program()
    inputs = mocks.inputs
    inputs["__provider"] = rpc.unwrap_rpc_secret(inputs["__provider"])
    return inputs


def test_create_without_credentials_says_how_to_get_them(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    env = no_google_credentials_env(tmp_path)
    assert not adc_found(env)
    inputs = _import_inputs()
    for key in [key for key in list(__import__("os").environ) if key not in env]:
        monkeypatch.delenv(key)  # the host inherits this process's environment, then ``env``
    with DynamicProviderHost(project="dicom", env=env) as host:
        with pytest.raises(HostError) as info:
            host.create(URN, inputs, timeout=120)
    details = info.value.details
    assert "could not start the DICOM import job: no Google credentials found" in details, details
    for expected in ("gcloud auth application-default login", "GOOGLE_OAUTH_ACCESS_TOKEN",
                     "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT"):
        assert expected in details, (expected, details)
    assert "DefaultCredentialsError" not in details and "google/auth" not in details
