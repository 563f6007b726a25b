"""Drive provider plugins over gRPC, as the Pulumi engine does.

The engine starts a plugin process, reads the port it prints as its first
stdout line, and calls ``CheckConfig``/``Configure`` then
``Check``/``Diff``/``Create``/... on it. :class:`ProviderPlugin` does the
same for any plugin command line; :class:`DynamicProviderHost` is the SDK's
dynamic provider host (``python -m pulumi.dynamic``), so tests and the
offline engine exercise the exact code path (and the exact serialization of
the provider) that ``pulumi up`` exercises.

As the engine does (pulumi/pulumi ``sdk/go/common/resource/plugin/plugin.go``
``ExecPlugin`` and ``Plugin.Close``, ``pkg/host/host.go`` ``Close``), each
plugin runs in a process group of its own, so a terminal's Ctrl-C reaches the
engine only, and is closed by ``Cancel``, then SIGINT to its group, then
after 5 s SIGKILL. The ``ConfigureResponse`` decides whether secrets reach
it as secrets (``acceptSecrets``; else they are sent plain and the outputs
marked secret where the inputs were, ``provider_plugin.go``
``annotateSecrets``) and whether a preview calls Create and Update
(``supportsPreview``).

Two facts shape the dynamic host: it writes its port line without flushing
(so the process is started unbuffered), and it needs ``PULUMI_PROJECT`` in
its environment to resolve config keys.

What a plugin writes is treated as ``plugin.go`` ``newPlugin`` (``runtrace``)
and ``Plugin.Close`` treat it: the dynamic provider host's non-blank lines are
diagnostics about no resource (stdout ``info``, stderr ``info#err``, a stream
each); any other plugin's output is hidden and kept, and dumped in one error
("exited prematurely") when it is closed without having acknowledged a
``Cancel``. See docs/offline-engine.md#each-behaviour-and-where-it-comes-from.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from .messages import ERROR, INFO, INFOERR, plugin_exited_prematurely
from .state import annotate_secrets, plain

#: The key the SDK stores the serialized provider under, in inputs and outputs.
PROVIDER_KEY = "__provider"
_PORT_LINE_DEADLINE_S = 60.0
_MAX_MESSAGE_BYTES = 400 * 1024 * 1024
#: ``pkg/host/host.go``: ``SignalCancellation`` gives providers 30 s, ``Close`` 5 s before it kills.
CANCEL_DEADLINE_S = 30.0
CLOSE_CANCEL_DEADLINE_S = 5.0
#: ``plugin.go`` ``ExecPlugin``: after SIGINT to its group a plugin has 5 s, then SIGKILL.
INTERRUPT_GRACE_S = 5.0
#: How long :meth:`ProviderPlugin.close` waits for a closed plugin's output to be read to its end.
_DRAIN_DEADLINE_S = 10.0

#: ``(severity, message, stream id)``: a diagnostic about no resource, from a plugin's output.
Diagnose = Callable[[str, str, int], None]

#: ``plugin.go`` ``nextStreamID``: one counter for the whole engine, so every stream has its own id.
_stream_ids = itertools.count(1)
_stream_ids_lock = threading.Lock()


def next_stream_id() -> int:
    with _stream_ids_lock:
        return next(_stream_ids)


@dataclass(frozen=True)
class CheckResult:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]


@dataclass(frozen=True)
class DiffResult:
    changes: int  # provider_pb2.DiffResponse.DIFF_UNKNOWN / DIFF_NONE / DIFF_SOME
    replaces: list[str]
    delete_before_replace: bool
    diffs: list[str] = field(default_factory=list)  # the changed keys the provider names
    detailed: dict[str, int] = field(default_factory=dict)  # path -> PropertyDiff kind

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


def _diff_result(response: provider_pb2.DiffResponse) -> DiffResult:
    detailed = {path: diff.kind for path, diff in response.detailedDiff.items()} if response.hasDetailedDiff else {}
    return DiffResult(response.changes, list(response.replaces), response.deleteBeforeReplace,
                      list(response.diffs), detailed)


class HostError(RuntimeError):
    """A gRPC call to the host failed; ``details`` is what the host said."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{method} failed ({code.name}): {details}")
        self.method = method
        self.code = code
        self.details = details


def is_dynamic_plugin_binary(binary: str) -> bool:
    """``plugin.go`` ``isDynamicPluginBinary``: the engine knows the dynamic provider hosts by their
    binary's name alone (Node.js's and Python's)."""
    return binary.endswith(("pulumi-resource-pulumi-nodejs", "pulumi-resource-pulumi-python"))


class ProviderPlugin:
    """One provider plugin process (``argv``) and a gRPC stub to it.

    ``env`` is added to the plugin's environment (emulator addresses, for
    example); ``cwd`` is the program's directory, where the engine runs plugins.
    ``binary`` is the path the engine names the plugin by (default ``argv[0]``);
    the engine tells the dynamic provider host by it (:func:`is_dynamic_plugin_binary`),
    whose output ``diagnose`` shows as it comes; any other plugin's output goes
    to ``diagnose`` only in the premature-exit dump.
    """

    def __init__(self, argv: list[str], env: Mapping[str, str] | None = None, cwd: str | None = None, *,
                 binary: str | None = None, diagnose: Diagnose | None = None) -> None:
        self._argv = list(argv)
        self._env = {**os.environ, **(env or {})}
        self._cwd = cwd
        self.binary = binary or self._argv[0]
        self.dynamic = is_dynamic_plugin_binary(self.binary)
        self._diagnose = diagnose
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self._channel: grpc.Channel | None = None
        self._stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self.stderr_lines: list[str] = []
        self.stdout_lines: list[str] = []
        #: ``plugin.go`` ``unstructuredOutput``: all a non-dynamic plugin wrote (stdout after the port
        #: line, and stderr), as it arrived, blank lines included.
        self._unstructured: list[str] = []
        self._output_lock = threading.Lock()
        self._drains: list[threading.Thread] = []
        #: ``Plugin.shutdownAcknowledged``: a ``Cancel`` answered OK or UNIMPLEMENTED.
        self.shutdown_acknowledged = False
        self._dumped = False
        #: From the ConfigureResponse (``provider_plugin.go`` ``Configure``): until then, neither.
        self.accept_secrets = False
        self.supports_preview = False

    # -- lifecycle -------------------------------------------------------
    def launch(self) -> "ProviderPlugin":
        """Start the process in a process group of its own and connect to the port it prints."""
        self.process = subprocess.Popen(self._argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL, env=self._env, cwd=self._cwd,
                                        process_group=0)
        out_stream, err_stream = next_stream_id(), next_stream_id()  # newPlugin: stdout's, then stderr's
        self._start_drain(self.process.stderr, self.stderr_lines, INFOERR, err_stream)
        self.port = self._read_port()
        # The engine keeps reading a plugin's stdout after the port line, so the plugin never blocks on it.
        self._start_drain(self.process.stdout, self.stdout_lines, INFO, out_stream)
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
            self.kill()
            raise RuntimeError(f"provider plugin {self._argv[0]} printed no port line:\n"
                               + "\n".join(self.stderr_lines[-20:]))
        return int(result[0].strip())

    def _start_drain(self, stream: Any, into: list[str], severity: str, stream_id: int) -> None:
        thread = threading.Thread(target=self._drain, args=(stream, into, severity, stream_id), daemon=True)
        self._drains.append(thread)
        thread.start()

    def _drain(self, stream: Any, into: list[str], severity: str, stream_id: int) -> None:
        """``plugin.go`` ``runtrace``: every line kept (a non-dynamic plugin's for the dump); a non-blank
        one of the dynamic host shown at once, with no resource. A non-dynamic plugin's lines are debug
        diagnostics there, which the CLI shows only with ``--debug`` (not modelled): nothing is shown."""
        for raw in iter(stream.readline, b""):
            text = raw.decode(errors="replace")
            into.append(text.rstrip())
            if not self.dynamic:
                with self._output_lock:
                    self._unstructured.append(text)
            elif text.strip() and self._diagnose is not None:
                self._diagnose(severity, text, stream_id)

    def _signal_group(self, number: int) -> None:
        try:
            os.killpg(self.process.pid, number)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone already

    def close(self) -> None:
        """Shut the plugin down as the engine does: ``Cancel`` (5 s), SIGINT to its process
        group, and SIGKILL to the group if it has not exited 5 s later; then, unless a ``Cancel``
        was acknowledged, the premature-exit dump (``Plugin.Close``)."""
        if self.process is None:
            return
        if self.process.poll() is None and self._stub is not None:
            try:
                self.cancel(deadline_s=CLOSE_CANCEL_DEADLINE_S)
            except HostError:
                pass  # it may not implement Cancel, or be gone: it is closed either way
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.process.poll() is None:
            self._signal_group(signal.SIGINT)
            try:
                self.process.wait(timeout=INTERRUPT_GRACE_S)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=10)
        for drain in self._drains:  # Plugin.Close waits for stdout and stderr to be read to their end
            drain.join(_DRAIN_DEADLINE_S)
        self._dump_if_premature()

    def _dump_if_premature(self) -> None:
        """``Plugin.Close``: a plugin (not the dynamic host) closed without acknowledging a ``Cancel`` has
        its kept output shown in one error about no resource, on a stream of its own, once."""
        if self.shutdown_acknowledged or self.dynamic or self._diagnose is None:
            return
        with self._output_lock:
            if self._dumped:
                return
            self._dumped = True
            output = "".join(self._unstructured)
        self._diagnose(ERROR, plugin_exited_prematurely(self.binary, output), next_stream_id())

    def stop(self) -> None:
        """The end of a run: :meth:`close`."""
        self.close()

    def kill(self) -> None:
        """Kill the plugin's process group abruptly (the engine terminated, or a lost machine)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.process is not None and self.process.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=10)

    # -- what crosses the wire -------------------------------------------
    def _wire(self, props: Mapping[str, Any]) -> struct_pb2.Struct:
        """Properties as this plugin gets them: secrets kept only if it accepts secrets."""
        return _serialize(props if self.accept_secrets else plain(dict(props)))

    def _back(self, struct: struct_pb2.Struct, sent: Mapping[str, Any], keep_unknowns: bool = False) -> dict[str, Any]:
        """Properties from this plugin; where it cannot see secrets, marked secret where ``sent`` was."""
        received = _deserialize(struct, keep_unknowns=keep_unknowns)
        if not self.accept_secrets:
            annotate_secrets(received, sent)
        return received

    # -- calls -----------------------------------------------------------
    def _call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        if self._stub is None:
            raise HostError(method, grpc.StatusCode.UNAVAILABLE, "the plugin is not running")
        try:
            return getattr(self._stub, method)(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise HostError(method, exc.code(), exc.details() or "") from None

    def check_config(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> CheckResult:
        response = self._call("CheckConfig", provider_pb2.CheckRequest(
            urn=urn, olds=_serialize(plain(dict(olds))), news=_serialize(plain(dict(news))), name=_name(urn),
            type=_type(urn)))
        return CheckResult(_deserialize(response.inputs, keep_unknowns=True),
                           [(f.property, f.reason) for f in response.failures])

    def diff_config(self, urn: str, old_inputs: Mapping[str, Any], old_outputs: Mapping[str, Any],
                    news: Mapping[str, Any]) -> DiffResult:
        response = self._call("DiffConfig", provider_pb2.DiffRequest(
            urn=urn, old_inputs=_serialize(plain(dict(old_inputs))), olds=_serialize(plain(dict(old_outputs))),
            news=_serialize(plain(dict(news))),
            name=_name(urn), type=_type(urn)))
        return _diff_result(response)

    def configure(self, config: Mapping[str, Any], *, variables: Mapping[str, str] | None = None,
                  urn: str = "", id_: str = "") -> provider_pb2.ConfigureResponse:
        """``Configure`` as ``provider_plugin.go`` sends it (secrets, resources and old inputs always
        accepted by the engine); the response's ``acceptSecrets``/``supportsPreview`` are kept."""
        request = provider_pb2.ConfigureRequest(
            variables=dict(variables or {}), args=_serialize(dict(config)), acceptSecrets=True,
            acceptResources=True, sends_old_inputs=True, sends_old_inputs_to_delete=True)
        if urn:
            request.urn, request.name, request.type = urn, _name(urn), _type(urn)
        if id_:
            request.id = id_
        response = self._call("Configure", request)
        self.accept_secrets, self.supports_preview = response.acceptSecrets, response.supportsPreview
        return response

    def check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> CheckResult:
        response = self._call("Check", provider_pb2.CheckRequest(
            urn=urn, olds=self._wire(olds), news=self._wire(news), name=_name(urn), type=_type(urn)))
        return CheckResult(self._back(response.inputs, news, keep_unknowns=True),
                           [(f.property, f.reason) for f in response.failures])

    def diff(self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *,
             old_inputs: Mapping[str, Any] | None = None, ignore_changes: list[str] = ()) -> DiffResult:
        request = provider_pb2.DiffRequest(urn=urn, id=id_, olds=self._wire(olds), news=self._wire(news),
                                           ignoreChanges=list(ignore_changes), name=_name(urn), type=_type(urn))
        if old_inputs is not None:
            request.old_inputs.CopyFrom(self._wire(old_inputs))
        return _diff_result(self._call("Diff", request))

    def create(self, urn: str, inputs: Mapping[str, Any], timeout: float | None = None, *,
               custom_timeout: float | None = None, preview: bool = False) -> tuple[str, dict[str, Any]]:
        """``custom_timeout`` is the resource's ``customTimeouts.create`` in seconds, sent in the
        request as the engine sends it; ``timeout`` is a gRPC deadline (tests only: the engine sets none)."""
        response = self._call("Create", provider_pb2.CreateRequest(
            urn=urn, properties=self._wire(inputs), timeout=custom_timeout or 0, preview=preview,
            name=_name(urn), type=_type(urn)), timeout=timeout)
        return response.id, self._back(response.properties, inputs, keep_unknowns=preview)

    def update(self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *,
               old_inputs: Mapping[str, Any] | None = None, custom_timeout: float | None = None,
               ignore_changes: list[str] = (), preview: bool = False) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(urn=urn, id=id_, olds=self._wire(olds), news=self._wire(news),
                                             timeout=custom_timeout or 0, ignoreChanges=list(ignore_changes),
                                             preview=preview, name=_name(urn), type=_type(urn))
        if old_inputs is not None:
            request.old_inputs.CopyFrom(self._wire(old_inputs))
        return self._back(self._call("Update", request).properties, news, keep_unknowns=preview)

    def read(self, urn: str, id_: str, outputs: Mapping[str, Any] | None,
             inputs: Mapping[str, Any] | None = None) -> ReadResult:
        """``Read``: with the old outputs and inputs (refresh), or the id alone (import: both ``None``).
        An empty id in the answer means the resource is gone."""
        request = provider_pb2.ReadRequest(urn=urn, id=id_, properties=self._wire(outputs or {}),
                                           name=_name(urn), type=_type(urn))
        if inputs is not None:
            request.inputs.CopyFrom(self._wire(inputs))
        response = self._call("Read", request)
        sent = {**(outputs or {}), **(inputs or {})}
        new_inputs = self._back(response.inputs, inputs or {}) if response.HasField("inputs") else None
        return ReadResult(response.id, self._back(response.properties, sent), new_inputs)

    def delete(self, urn: str, id_: str, outputs: Mapping[str, Any], *,
               old_inputs: Mapping[str, Any] | None = None, custom_timeout: float | None = None) -> None:
        request = provider_pb2.DeleteRequest(urn=urn, id=id_, properties=self._wire(outputs),
                                             timeout=custom_timeout or 0, name=_name(urn), type=_type(urn))
        if old_inputs is not None:
            request.old_inputs.CopyFrom(self._wire(old_inputs))
        self._call("Delete", request)

    def cancel(self, deadline_s: float = CANCEL_DEADLINE_S) -> None:
        """The engine's ``Cancel``: ask every in-flight operation of this plugin to stop.

        ``provider_plugin.go`` ``SignalCancellation``: an OK or UNIMPLEMENTED answer acknowledges the
        shutdown (UNIMPLEMENTED is no error); any other failure (the plugin gone, or no answer in
        time) is raised and acknowledges nothing."""
        try:
            self._call("Cancel", empty_pb2.Empty(), timeout=deadline_s)
        except HostError as exc:
            if exc.code != grpc.StatusCode.UNIMPLEMENTED:
                raise
        self.shutdown_acknowledged = True


#: The binary the real engine runs for Python dynamic providers (it starts ``python -m pulumi.dynamic``).
DYNAMIC_HOST_BINARY = "pulumi-resource-pulumi-python"


class DynamicProviderHost(ProviderPlugin):
    """The SDK's dynamic provider host, ``python -m pulumi.dynamic``.

    ``project`` becomes ``PULUMI_PROJECT`` (the host resolves config keys with it).
    """

    def __init__(self, project: str = "project", env: Mapping[str, str] | None = None,
                 python: str = sys.executable, cwd: str | None = None, engine: str | None = None,
                 diagnose: Diagnose | None = None) -> None:
        super().__init__([python, "-u", "-m", "pulumi.dynamic", *([engine] if engine else [])],
                         env={**(env or {}), "PULUMI_PROJECT": project, "PYTHONUNBUFFERED": "1"}, cwd=cwd,
                         binary=DYNAMIC_HOST_BINARY, diagnose=diagnose)

    def start(self, config: Mapping[str, Any] | None = None) -> "DynamicProviderHost":
        self.launch()
        self.configure(config or {})
        return self

    def __enter__(self) -> "DynamicProviderHost":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
