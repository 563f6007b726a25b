"""The SDK contract checks, run in a fresh interpreter by ``test_plugin_sdk_contract.py``.

Why a separate process: ``pulumi.provider.experimental`` registers the
``google.rpc.Status`` proto, which google-cloud-storage and -bigquery (loaded
by the test session) register too; one process cannot hold both. Every
``check_*`` function here raises AssertionError naming what moved.
"""

from __future__ import annotations

import asyncio
import inspect
import sys

import grpc
from pulumi.provider.experimental import property_value, provider, server
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2, provider_pb2_grpc

from pulumi_dicom_jobs.plugin.provider import DicomJobsProvider
from pulumi_dicom_jobs.plugin.servicer import DicomJobsServicer


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def check_the_provider_base_class_has_the_async_methods_we_override() -> None:
    for name in ("get_schema", "check_config", "configure", "check", "diff", "create", "read", "update",
                 "delete", "cancel"):
        method = getattr(provider.Provider, name)
        assert inspect.iscoroutinefunction(method), f"Provider.{name} is no longer async"
        assert name in DicomJobsProvider.__dict__, f"the plugin does not implement {name}"


def check_requests_carry_what_the_plugin_reads() -> None:
    assert _params(provider.CreateRequest.__init__) == ["self", "urn", "properties", "timeout", "preview"]
    assert {"urn", "resource_id", "olds", "news", "timeout", "preview"} <= set(
        _params(provider.UpdateRequest.__init__))
    assert {"urn", "old_inputs", "new_inputs"} <= set(_params(provider.CheckRequest.__init__))
    assert {"urn", "resource_id", "old_state", "new_inputs"} <= set(_params(provider.DiffRequest.__init__))
    assert {"urn", "resource_id", "properties", "inputs"} <= set(_params(provider.ReadRequest.__init__))
    assert {"variables", "args"} <= set(_params(provider.ConfigureRequest.__init__))
    assert isinstance(provider.CreateRequest.type, property), "CreateRequest.type (from the URN) is gone"


def check_responses_take_what_the_plugin_gives() -> None:
    assert {"resource_id", "properties"} <= set(_params(provider.CreateResponse.__init__))
    assert {"resource_id", "properties", "inputs"} <= set(_params(provider.ReadResponse.__init__))
    assert {"changes", "replaces", "stables", "delete_before_replace", "diffs", "detailed_diff"} <= set(
        _params(provider.DiffResponse.__init__))
    assert {"accept_secrets", "supports_preview", "accept_resources"} <= set(
        _params(provider.ConfigureResponse.__init__))
    assert {"UPDATE", "UPDATE_REPLACE"} <= set(provider.PropertyDiffKind.__members__)
    assert _params(provider.CheckFailure.__init__) == ["self", "property", "reason"]


def check_property_values_and_the_server() -> None:
    assert hasattr(property_value, "Computed") and hasattr(property_value.PropertyValue, "computed")
    assert hasattr(property_value.PropertyValue, "contains_secret")
    assert hasattr(property_value.PropertyValue, "with_secret")
    assert _params(server.main) == ["args", "version", "provider"]


def check_the_servicer_we_extend_and_the_grpc_settings_we_serve_with() -> None:
    assert _params(server.ProviderServicer.__init__) == ["self", "args", "version", "provider", "engine_address"]
    for name, method in vars(DicomJobsServicer).items():
        if name[:1].isupper():
            assert inspect.iscoroutinefunction(getattr(server.ProviderServicer, name)), f"ProviderServicer.{name}"
    from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS  # noqa: F401 (the server's options)


class _Marker(Exception):
    pass


class _Context:
    """The part of a grpc.aio servicer context a failed call uses."""

    def __init__(self) -> None:
        self.aborted: tuple = ()

    async def abort(self, code, details):
        self.aborted = (code, details)
        raise grpc.RpcError(details)


def check_a_providers_failure_reaches_the_engine_as_its_status_alone() -> None:
    class Failing(provider.Provider):
        async def create(self, request):
            raise _Marker("the job failed")

    request = provider_pb2.CreateRequest(urn="urn:pulumi:s::p::dicom-jobs:index:DicomImportJob::n")
    servicer = DicomJobsServicer([], "0.0.0", Failing(), engine_address="127.0.0.1:1")
    context = _Context()
    try:
        asyncio.run(servicer.Create(request, context))
    except grpc.RpcError:
        pass
    code, details = context.aborted
    assert code == grpc.StatusCode.INTERNAL and details.startswith("internal error in the dicom-jobs plugin "
                                                                    "(_Marker: the job failed)"), context.aborted


def check_the_engine_log_call() -> None:
    assert hasattr(engine_pb2_grpc, "EngineStub") and hasattr(provider_pb2_grpc, "ResourceProviderStub")
    fields = engine_pb2.LogRequest.DESCRIPTOR.fields_by_name
    assert {"severity", "message", "urn", "ephemeral"} <= set(fields)
    assert engine_pb2.INFO and engine_pb2.WARNING


if __name__ == "__main__":
    failed = 0
    for name, check in sorted(globals().items()):
        if name.startswith("check_") and callable(check):
            try:
                check()
            except AssertionError as exc:
                failed += 1
                print(f"{name}: {exc}")
    print("ok" if not failed else f"{failed} contract check(s) failed")
    sys.exit(1 if failed else 0)
