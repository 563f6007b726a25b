"""Through the SDK's real dynamic provider host: register real resources under
``set_mocks``, take the serialized provider they carry, and drive Check, Diff,
Create, Read, Update and Delete over gRPC in a fresh ``python -m pulumi.dynamic``."""

from __future__ import annotations

from pathlib import Path
from importlib.metadata import version

import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc

from healthcare_emulator.sampledata import uids_of
from support.data import synthetic
from support.workspace import Workspace
from pulumi_dicom_jobs import (DicomExportJob, DicomImportJob, FilterConfigArgs, GcsDestinationArgs,
                               GcsSourceArgs)
from pulumi_dicom_jobs import settings
from pulumi_dicom_jobs.dynamic import hostpool
from pulumi_dicom_jobs.dynamic.providers import DicomImportJobProvider
from pulumi_offline.host import DynamicProviderHost, HostError

TOKEN = "ya29.host-token-must-not-leak"
#: The SDK's host sends the provider's traceback with an error from pulumi
#: 3.260 on; older hosts (the floor of the product's range) send the message alone.
_SDK = tuple(int(part) for part in version("pulumi").split(".")[:2])
_HOST_SENDS_TRACEBACK = _SDK >= (3, 260)
#: From pulumi 3.268 on, the SDK's host looks for the serialized provider in a
#: Read's inputs when it has no prior outputs (a get); older hosts fail there.
_HOST_READS_FROM_INPUTS = _SDK >= (3, 268)


class _Capture(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: dict[str, tuple[str, dict]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.registered[args.name] = (args.typ, dict(args.inputs))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def _register(env: Workspace) -> dict[str, tuple[str, dict]]:
    mocks = _Capture()
    pulumi.runtime.set_mocks(mocks, project="dicom", stack="test", preview=False)

    @pulumi.runtime.test
    def program():
        imp = DicomImportJob("imp", dicom_store=env.store,
                             gcs_source=GcsSourceArgs(uri=f"gs://{env.bucket.name}/in/**.dcm"),
                             blob_storage_settings={"blob_storage_class": "STANDARD"},
                             timeout_seconds=60, triggers={"rev": 1})
        exp = DicomExportJob("exp", dicom_store=env.store,
                             gcs_destination=GcsDestinationArgs(uri_prefix=f"gs://{env.bucket.name}/out",
                                                                mime_type="image/png"),
                             filter_config=FilterConfigArgs(resource_paths_gcs_uri=f"gs://{env.bucket.name}/f.txt"),
                             opts=pulumi.ResourceOptions(depends_on=[imp]))
        return pulumi.Output.all(imp.urn, exp.urn, imp.operation_name)

    program()
    return mocks.registered


def test_full_lifecycle_through_the_real_host(env: Workspace, stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN)
    registered = _register(env)
    imp_type, imp_inputs = registered["imp"]
    exp_type, exp_inputs = registered["exp"]
    assert imp_type == "pulumi-python:dynamic/dicom-jobs:DicomImportJob"
    assert exp_type == "pulumi-python:dynamic/dicom-jobs:DicomExportJob"
    assert imp_inputs["gcs_source"] == {"uri": f"gs://{env.bucket.name}/in/**.dcm"}  # snake_case
    assert exp_inputs["gcs_destination"] == {"uri_prefix": f"gs://{env.bucket.name}/out", "mime_type": "image/png"}
    assert exp_inputs["filter_config"] == {"resource_paths_gcs_uri": f"gs://{env.bucket.name}/f.txt"}
    for inputs in (imp_inputs, exp_inputs):
        # serialize_as_secret_always = False: no secret inside, so not wrapped as one (pulumi/pulumi#15538)
        assert isinstance(inputs["__provider"], str), inputs["__provider"]
        serialized = rpc.unwrap_rpc_secret(inputs["__provider"])
        assert isinstance(serialized, str) and len(serialized) <= 2048 and len(serialized) < 200
        assert TOKEN not in serialized and "token" not in serialized.lower()
        inputs["__provider"] = serialized
        assert not any(k in inputs for k in ("operation_name", "success_count"))  # None outputs dropped
    for index, data in enumerate(synthetic(2)):
        env.upload(f"in/{index}.dcm", data)
    urn_i = "urn:pulumi:test::dicom::pulumi-python:dynamic/dicom-jobs:DicomImportJob::imp"
    urn_e = "urn:pulumi:test::dicom::pulumi-python:dynamic/dicom-jobs:DicomExportJob::exp"

    with DynamicProviderHost(project="dicom", env={**stack.env(), "GOOGLE_OAUTH_ACCESS_TOKEN": TOKEN,
                                                "DICOM_JOBS_PERMISSION_RETRY_SECONDS": "1"}) as host:
        # Check: valid, invalid, and preview unknowns; no request to the API
        before = env.request_count()
        assert host.check(urn_i, {}, imp_inputs).failures == []
        bad = host.check(urn_i, {}, {**imp_inputs, "gcs_source": {"uri": "gs://x/**/y"}, "extra": 1})
        assert sorted(p for p, _ in bad.failures) == ["extra", "gcs_source.uri"]
        preview = host.check(urn_i, {}, {**imp_inputs, "dicom_store": rpc.UNKNOWN,
                                         "gcs_source": {"uri": rpc.UNKNOWN}})
        assert preview.failures == []
        assert env.request_count() == before, "check sent requests to the API"

        # Create import (in a fresh process: the pickled provider works there)
        id_i, outs_i = host.create(urn_i, imp_inputs, timeout=120)
        assert id_i == outs_i["operation_name"] and outs_i["success_count"] == 2
        assert outs_i["api_method_name"].endswith("ImportDicomData") and outs_i["end_time"]

        # Diff: unchanged -> nothing; timeout -> update; trigger / source -> replace; no request
        count = env.request_count()
        assert not host.diff(urn_i, id_i, outs_i, imp_inputs).has_changes
        in_place = host.diff(urn_i, id_i, outs_i, {**imp_inputs, "timeout_seconds": 99})
        assert in_place.has_changes and not in_place.replace
        assert host.diff(urn_i, id_i, outs_i, {**imp_inputs, "triggers": {"rev": 2}}).replaces == ["triggers"]
        assert host.diff(urn_i, id_i, outs_i, {**imp_inputs, "gcs_source": rpc.UNKNOWN}).replaces == ["gcs_source"]
        assert env.request_count() == count, "diff sent requests to the API"

        # Update (no API call), Read, Delete (no API call)
        count = env.request_count()
        updated = host.update(urn_i, id_i, outs_i, {**imp_inputs, "timeout_seconds": 99, "max_failed_instances": 3})
        assert updated["timeout_seconds"] == 99 and updated["success_count"] == 2
        assert env.request_count() == count
        read = host.read(urn_i, id_i, updated)
        assert read.id == id_i and read.outputs["end_time"] == outs_i["end_time"]
        # pulumi import (or a get): no prior outputs, only the inputs with the serialized provider
        if _HOST_READS_FROM_INPUTS:
            imported = host.read(urn_i, id_i, {}, inputs=imp_inputs)
            assert imported.id == id_i and imported.outputs["operation_name"] == id_i
            assert imported.outputs["success_count"] == 2 and imported.outputs["end_time"] == outs_i["end_time"]
        else:  # the floor of the SDK range: its host never reaches our provider
            with pytest.raises(HostError, match="__provider"):
                host.read(urn_i, id_i, {}, inputs=imp_inputs)
        env.admin.post("operations/forget", {"name": id_i})
        kept = host.read(urn_i, id_i, updated)
        assert kept.outputs["success_count"] == 2 and kept.outputs["operation_name"] == id_i
        count = env.request_count()
        host.delete(urn_i, id_i, updated)
        assert env.request_count() == count

        # Export with filter, as image/png, through the host
        dicom_uids = uids_of(synthetic(1)[0])
        env.upload("f.txt", f"/studies/{dicom_uids.study}\n".encode())  # matches nothing: 0 exported
        id_e, outs_e = host.create(urn_e, exp_inputs, timeout=120)
        assert outs_e["api_method_name"].endswith("ExportDicomData") and outs_e["success_count"] == 0

        # Failure surfaces as a gRPC error holding the user-facing message, never the token
        env.admin.post("permissions", {"resource": f"gs://{env.bucket.name}", "deny": ["write"]})
        with pytest.raises(HostError) as info:
            host.create(urn_e, {**exp_inputs, "timeout_seconds": 30}, timeout=120)
        assert "PERMISSION_DENIED" in info.value.details or "permission" in info.value.details.lower()
        # the traceback the host sends is cut to the frame that raised: no runner internals
        frames = [line for line in info.value.details.splitlines() if line.lstrip().startswith('File "')]
        if _HOST_SENDS_TRACEBACK:
            assert len(frames) <= 3 and frames[-1].endswith("in create"), info.value.details
        else:  # the floor of the SDK range: its host sends the message alone
            assert not frames, info.value.details
        assert "pulumi_dicom_jobs/jobs/" not in info.value.details  # the job layer's modules
        assert TOKEN not in info.value.details
        assert all(TOKEN not in line for line in host.stderr_lines)
        assert env.request_count() > before
    for blob in (outs_i, updated, read.outputs, outs_e):
        assert TOKEN not in repr(blob)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc")
def test_the_first_call_widens_the_real_hosts_pool() -> None:
    """Importing the providers changes nothing; their first method call widens the host.

    Property, not timing: the host's threads are counted before any provider
    RPC and after the first ``check`` returns (the widening pre-spawns its
    threads before the call returns).
    """
    inputs = {"dicom_store": "projects/p-123456/locations/l/datasets/d/dicomStores/s",
              "gcs_source": {"uri": "gs://bucket-ok/in/**.dcm"},
              "__provider": serialize_provider(DicomImportJobProvider())}
    urn = "urn:pulumi:test::dicom::pulumi-python:dynamic/dicom-jobs:DicomImportJob::imp"
    with DynamicProviderHost(project="dicom", env={settings.HOST_POOL_ENV: ""}) as host:
        threads = Path(f"/proc/{host.process.pid}/task")
        before = len(list(threads.iterdir()))
        assert before < hostpool.DEFAULT_TARGET
        assert host.check(urn, {}, inputs).failures == []
        assert len(list(threads.iterdir())) >= hostpool.DEFAULT_TARGET, host.stderr_lines[-5:]
        assert not [line for line in host.stderr_lines if "pulumi-dicom-jobs:" in line]
