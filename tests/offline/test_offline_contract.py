"""The internal SDK entry points the offline engine relies on still exist (fails loudly on an SDK move)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect

import pulumi
from pulumi.runtime.proto import provider_pb2, resource_pb2

from pulumi_offline.program import SDK_ENTRY_POINTS


def test_sdk_version_is_the_pinned_one():
    from importlib.metadata import version
    assert version("pulumi") == "3.272.0", "pulumi-offline was verified against pulumi 3.272.0: re-verify"


def test_internal_entry_points_exist():
    missing = []
    for module_name, attr in SDK_ENTRY_POINTS:
        module = importlib.import_module(module_name)
        if not hasattr(module, attr):
            missing.append(f"{module_name}.{attr}")
    assert not missing, f"SDK internals moved: {missing}"


def test_entry_point_signatures():
    from pulumi.runtime import mocks, stack

    params = inspect.signature(pulumi.runtime.set_mocks).parameters
    assert {"mocks", "project", "stack", "preview", "monitor"} <= set(params)
    assert inspect.iscoroutinefunction(stack.run_pulumi_func)
    for method in ("RegisterResource", "ReadResource", "Invoke", "make_urn"):
        assert callable(getattr(mocks.MockMonitor, method)), method
    assert {"call", "new_resource"} <= set(mocks.Mocks.__abstractmethods__)


def test_wire_fields_the_engine_reads():
    request = resource_pb2.RegisterResourceRequest()
    for name in ("dependencies", "propertyDependencies", "retainOnDelete", "deleteBeforeReplace",
                 "deleteBeforeReplaceDefined", "ignoreChanges", "replaceOnChanges", "custom", "parent", "protect",
                 "customTimeouts", "importId", "provider"):
        assert hasattr(request, name), name
    diff = provider_pb2.DiffResponse
    assert (diff.DIFF_UNKNOWN, diff.DIFF_NONE, diff.DIFF_SOME) == (0, 1, 2)


def test_dynamic_provider_host_module_exists():
    assert importlib.util.find_spec("pulumi.dynamic.__main__") is not None
    from pulumi.dynamic import dynamic
    assert dynamic.PROVIDER_KEY == "__provider"


def test_plugin_protocol_fields_the_engine_sends():
    """What the offline engine fills in when it drives a provider plugin, and the service it serves."""
    from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc
    fields = {
        provider_pb2.CheckRequest: {"urn", "olds", "news", "name", "type"},
        provider_pb2.DiffRequest: {"urn", "id", "olds", "news", "old_inputs", "ignoreChanges", "name", "type"},
        provider_pb2.CreateRequest: {"urn", "properties", "timeout", "preview", "name", "type"},
        provider_pb2.UpdateRequest: {"urn", "id", "olds", "news", "old_inputs", "timeout", "ignoreChanges",
                                     "preview", "name", "type"},
        provider_pb2.DeleteRequest: {"urn", "id", "properties", "old_inputs", "timeout", "name", "type"},
        provider_pb2.ConfigureRequest: {"variables", "args", "acceptSecrets", "acceptResources", "urn", "id",
                                        "sends_old_inputs", "sends_old_inputs_to_delete"},
        provider_pb2.ConfigureResponse: {"acceptSecrets", "supportsPreview"},
        provider_pb2.DiffResponse: {"changes", "replaces", "diffs", "detailedDiff", "hasDetailedDiff",
                                    "deleteBeforeReplace"},
        provider_pb2.ReadRequest: {"urn", "id", "properties", "inputs", "name", "type"},
        provider_pb2.ReadResponse: {"id", "properties", "inputs"},
        engine_pb2.LogRequest: {"severity", "message", "urn", "ephemeral"},
    }
    for message, names in fields.items():
        missing = names - {f.name for f in message.DESCRIPTOR.fields}
        assert not missing, f"{message.__name__} lost {missing}"
    for method in ("Log", "GetRootResource", "SetRootResource"):
        assert callable(getattr(engine_pb2_grpc.EngineServicer, method)), method
    assert callable(engine_pb2_grpc.add_EngineServicer_to_server)
