"""What a failure looks like on the wire: a status code the engine understands and the message alone.

The engine shows a failed call's status message as it is and reads its
code (``UNKNOWN``, ``INTERNAL``, ``DATA_LOSS``: "state unknown"); an
``ErrorResourceInitFailed`` detail would record the job as created. These
tests read the statuses the real plugin process answers.
"""

from __future__ import annotations

import grpc
import pytest

from pulumi.runtime.proto import provider_pb2

from support.plugin import IMPORT_TYPE, struct, urn
from support.workspace import Workspace

pytestmark = pytest.mark.slow

_UNKNOWN_STATE = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS}


def _refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failed:
        call()
    return failed.value


def _assert_plain_message(error: grpc.RpcError) -> str:
    text = error.details()
    assert "Unexpected <class" not in text and 'File "' not in text, text
    trailers = dict(error.trailing_metadata() or ())
    assert "grpc-status-details-bin" not in trailers, "no detail (no ErrorResourceInitFailed): not recorded"
    return text


def test_a_failed_job_answers_its_message_alone_with_a_code_the_engine_understands(plugin, env: Workspace) -> None:
    _engine, process = plugin
    error = _refused(lambda: process.create(
        {"dicomStore": env.store, "gcsSource": {"uri": f"gs://{env.bucket.name}/nothing-here/**.dcm"}}))
    text = _assert_plain_message(error)
    [listed] = env.operations()
    operation = env.operation(listed["name"])
    assert listed["name"] in text and text.startswith("the DICOM import job"), text
    assert error.code().value[0] == operation["error"]["code"], "the operation's own code"
    assert error.code() not in _UNKNOWN_STATE, error.code()


def test_invalid_inputs_at_create_are_invalid_argument(plugin) -> None:
    _engine, process = plugin
    error = _refused(lambda: process.create({"dicomStore": "not-a-store", "gcsSource": {"uri": "gs://b/x.dcm"}}))
    text = _assert_plain_message(error)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert text.startswith("invalid inputs: ") and "dicom_store" in text, text


@pytest.mark.parametrize("method", ["Check", "Diff", "Update", "Read", "Delete"])
def test_a_type_the_plugin_does_not_serve_is_refused_by_name(plugin, method: str) -> None:
    _engine, process = plugin
    other = urn("dicom-jobs:index:DicomTransferJob")
    requests = {
        "Check": provider_pb2.CheckRequest(urn=other, olds=struct({}), news=struct({})),
        "Diff": provider_pb2.DiffRequest(urn=other, id="op", olds=struct({}), news=struct({})),
        "Update": provider_pb2.UpdateRequest(urn=other, id="op", olds=struct({}), news=struct({})),
        "Read": provider_pb2.ReadRequest(urn=other, id="op", properties=struct({"operationName": "op"})),
        "Delete": provider_pb2.DeleteRequest(urn=other, id="op", properties=struct({})),
    }
    error = _refused(lambda: getattr(process.stub, method)(requests[method]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _assert_plain_message(error) == (f"dicom-jobs serves dicom-jobs:index:DicomExportJob, {IMPORT_TYPE}, "
                                            "not dicom-jobs:index:DicomTransferJob")
