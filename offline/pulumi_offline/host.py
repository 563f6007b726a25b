"""Drive provider plugins over gRPC, as the Pulumi engine does.

The engine starts a plugin process, reads the port it prints as its first
stdout line, and calls ``CheckConfig``/``Configure`` then
``Check``/``Diff``/``Create``/... on it. :class:`ProviderPlugin` does the
same for any plugin command line; :class:`DynamicProviderHost` is the SDK's
dynamic provider host (``python -m pulumi.dynamic``), so tests and the
offline engine exercise the exact code path (and the exact serialization of
the provider) that ``pulumi up`` exercises.

Two facts shape the dynamic host: it writes its port line without flushing
(so the process is started unbuffered), and it needs ``PULUMI_PROJECT`` in
its environment to resolve config keys.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any, Mapping

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

#: The key the SDK stores the serialized provider under, in inputs and outputs.
PROVIDER_KEY = "__provider"
_PORT_LINE_DEADLINE_S = 60.0
_MAX_MESSAGE_BYTES = 400 * 1024 * 1024
_CANCEL_DEADLINE_S = 10.0


@dataclass(frozen=True)
class CheckResult:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]


@dataclass(frozen=True)
class DiffResult:
    changes: int  # provider_pb2.DiffResponse.DIFF_UNKNOWN / DIFF_NONE / DIFF_SOME
    replaces: list[str]
    delete_before_replace: bool

    @property
    def has_changes(self) -> bool:
        return self.changes != provider_pb2.DiffResponse.DIFF_NONE

    @property
    def replace(self) -> bool:
        return bool(self.replaces)


@dataclass(frozen=True)
class ReadResult:
    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None


def _serialize(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Serialize plain property values the way the SDK does (own event loop)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _type(urn: str) -> str:
    """The resource's own type (the last of a URN's ``parent$child`` type chain)."""
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""


def _deserialize(struct: struct_pb2.Struct, keep_unknowns: bool = False) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, keep_unknowns))


class HostError(RuntimeError):
    """A gRPC call to the host failed; ``details`` is what the host said."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{method} failed ({code.name}): {details}")
        self.method = method
        self.code = code
        self.details = details


class ProviderPlugin:
    """One provider plugin process (``argv``) and a gRPC stub to it.

    ``env`` is added to the plugin's environment (emulator addresses, for
    example); ``cwd`` is the program's directory, where the engine runs plugins.
    """

    def __init__(self, argv: list[str], env: Mapping[str, str] | None = None, cwd: str | None = None) -> None:
        self._argv = list(argv)
        self._env = {**os.environ, **(env or {})}
        self._cwd = cwd
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self._channel: grpc.Channel | None = None
        self._stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self.stderr_lines: list[str] = []

    # -- lifecycle -------------------------------------------------------
    def launch(self) -> "ProviderPlugin":
        """Start the process and connect to the port it prints (no configuration yet)."""
        self.process = subprocess.Popen(self._argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL, env=self._env, cwd=self._cwd)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.port = self._read_port()
        self._channel = grpc.insecure_channel(
            f"127.0.0.1:{self.port}",
            options=[("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                     ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES)])
        grpc.channel_ready_future(self._channel).result(timeout=_PORT_LINE_DEADLINE_S)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        return self

    def _read_port(self) -> int:
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline().decode()),
                                  daemon=True)
        reader.start()
        reader.join(_PORT_LINE_DEADLINE_S)
        if not result or not result[0].strip().isdigit():
            self.stop()
            raise RuntimeError(f"provider plugin {self._argv[0]} printed no port line:\n"
                               + "\n".join(self.stderr_lines[-20:]))
        return int(result[0].strip())

    def _drain_stderr(self) -> None:
        for raw in iter(self.process.stderr.readline, b""):
            self.stderr_lines.append(raw.decode(errors="replace").rstrip())

    def stop(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """Kill the plugin abruptly, as a crashed engine or a lost machine would."""
        self.stop()

    # -- calls -----------------------------------------------------------
    def _call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise HostError(method, exc.code(), exc.details() or "") from None

    def check_config(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> CheckResult:
        response = self._call("CheckConfig", provider_pb2.CheckRequest(
            urn=urn, olds=_serialize(olds), news=_serialize(news), name=_name(urn), type=_type(urn)))
        return CheckResult(_deserialize(response.inputs, keep_unknowns=True),
                           [(f.property, f.reason) for f in response.failures])

    def configure(self, config: Mapping[str, Any], *, variables: Mapping[str, str] | None = None,
                  urn: str = "") -> provider_pb2.ConfigureResponse:
        args = _serialize({k: v for k, v in config.items()})
        return self._call("Configure", provider_pb2.ConfigureRequest(
            variables=dict(variables or {}), args=args, acceptSecrets=bool(urn), acceptResources=bool(urn),
            sends_old_inputs=bool(urn), sends_old_inputs_to_delete=bool(urn),
            urn=urn, name=_name(urn) if urn else "", type=_type(urn) if urn else ""))

    def check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> CheckResult:
        response = self._call("Check", provider_pb2.CheckRequest(
            urn=urn, olds=_serialize(olds), news=_serialize(news), name=_name(urn), type=_type(urn)))
        return CheckResult(_deserialize(response.inputs, keep_unknowns=True),
                           [(f.property, f.reason) for f in response.failures])

    def diff(self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *,
             old_inputs: Mapping[str, Any] | None = None, ignore_changes: list[str] = ()) -> DiffResult:
        request = provider_pb2.DiffRequest(urn=urn, id=id_, olds=_serialize(olds), news=_serialize(news),
                                           ignoreChanges=list(ignore_changes), name=_name(urn), type=_type(urn))
        if old_inputs is not None:
            request.old_inputs.CopyFrom(_serialize(old_inputs))
        response = self._call("Diff", request)
        return DiffResult(response.changes, list(response.replaces), response.deleteBeforeReplace)

    def create(self, urn: str, inputs: Mapping[str, Any], timeout: float | None = None, *,
               custom_timeout: float | None = None, preview: bool = False) -> tuple[str, dict[str, Any]]:
        """``custom_timeout`` is the resource's ``customTimeouts.create`` in seconds, sent in the
        request as the engine sends it; ``timeout`` is a gRPC deadline (tests only: the engine sets none)."""
        response = self._call("Create", provider_pb2.CreateRequest(
            urn=urn, properties=_serialize(inputs), timeout=custom_timeout or 0, preview=preview,
            name=_name(urn), type=_type(urn)), timeout=timeout)
        return response.id, _deserialize(response.properties, keep_unknowns=preview)

    def update(self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *,
               old_inputs: Mapping[str, Any] | None = None, custom_timeout: float | None = None,
               ignore_changes: list[str] = (), preview: bool = False) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(urn=urn, id=id_, olds=_serialize(olds), news=_serialize(news),
                                             timeout=custom_timeout or 0, ignoreChanges=list(ignore_changes),
                                             preview=preview, name=_name(urn), type=_type(urn))
        if old_inputs is not None:
            request.old_inputs.CopyFrom(_serialize(old_inputs))
        return _deserialize(self._call("Update", request).properties, keep_unknowns=preview)

    def read(self, urn: str, id_: str, outputs: Mapping[str, Any],
             inputs: Mapping[str, Any] | None = None) -> ReadResult:
        request = provider_pb2.ReadRequest(urn=urn, id=id_, properties=_serialize(outputs))
        if inputs is not None:
            request.inputs.CopyFrom(_serialize(inputs))
        response = self._call("Read", request)
        new_inputs = _deserialize(response.inputs) if response.HasField("inputs") else None
        return ReadResult(response.id, _deserialize(response.properties), new_inputs)

    def delete(self, urn: str, id_: str, outputs: Mapping[str, Any], *,
               old_inputs: Mapping[str, Any] | None = None, custom_timeout: float | None = None) -> None:
        request = provider_pb2.DeleteRequest(urn=urn, id=id_, properties=_serialize(outputs),
                                             timeout=custom_timeout or 0, name=_name(urn), type=_type(urn))
        if old_inputs is not None:
            request.old_inputs.CopyFrom(_serialize(old_inputs))
        self._call("Delete", request)

    def cancel(self) -> None:
        """The engine's ``Cancel``: ask every in-flight operation of this plugin to stop."""
        self._call("Cancel", empty_pb2.Empty(), timeout=_CANCEL_DEADLINE_S)


class DynamicProviderHost(ProviderPlugin):
    """The SDK's dynamic provider host, ``python -m pulumi.dynamic``.

    ``project`` becomes ``PULUMI_PROJECT`` (the host resolves config keys with it).
    """

    def __init__(self, project: str = "project", env: Mapping[str, str] | None = None,
                 python: str = sys.executable, cwd: str | None = None) -> None:
        super().__init__([python, "-u", "-m", "pulumi.dynamic"],
                         env={**(env or {}), "PULUMI_PROJECT": project, "PYTHONUNBUFFERED": "1"}, cwd=cwd)

    def start(self, config: Mapping[str, Any] | None = None) -> "DynamicProviderHost":
        self.launch()
        self.configure(config or {})
        return self

    def __enter__(self) -> "DynamicProviderHost":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
