"""The plugin started as the engine starts it, and a small engine for it to talk to.

Why a real process and a real gRPC server: what the plugin promises (its
port on stdout, the protocol's messages, ephemeral ``Log`` calls on a URN,
``Cancel``) only exists across a process boundary. The engine here
implements the one service the plugin calls, ``Log``, and records every
request; the tests call the plugin's ``ResourceProvider`` service exactly as
the Pulumi engine does, through ``provider_pb2_grpc.ResourceProviderStub``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent import futures
from typing import Any, Iterator, Optional, Sequence

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, plugin_pb2, provider_pb2, provider_pb2_grpc

from healthcare_emulator.waiting import poll

EXECUTABLE = "pulumi-resource-dicom-jobs"
IMPORT_TYPE = "dicom-jobs:index:DicomImportJob"
EXPORT_TYPE = "dicom-jobs:index:DicomExportJob"


def urn(type_: str = IMPORT_TYPE, name: str = "job") -> str:
    return f"urn:pulumi:test::proj::{type_}::{name}"


class RecordingEngine(engine_pb2_grpc.EngineServicer):
    """The engine's ``Log`` service; keeps every request."""

    def __init__(self) -> None:
        self.logs: list[engine_pb2.LogRequest] = []
        self.arrivals: list[float] = []  # time.monotonic() of each log, same order
        self._lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        engine_pb2_grpc.add_EngineServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    def Log(self, request: engine_pb2.LogRequest, context: Any) -> empty_pb2.Empty:  # noqa: N802
        with self._lock:
            self.logs.append(request)
            self.arrivals.append(time.monotonic())
        return empty_pb2.Empty()

    def messages(self, urn_: Optional[str] = None) -> list[engine_pb2.LogRequest]:
        with self._lock:
            return [log for log in self.logs if urn_ is None or log.urn == urn_]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def installed_executable() -> str:
    """``pulumi-resource-dicom-jobs`` beside this interpreter (a venv's ``bin``), else on ``PATH``."""
    executable = shutil.which(EXECUTABLE, path=os.path.dirname(sys.executable)) or shutil.which(EXECUTABLE)
    assert executable, f"{EXECUTABLE} is not installed beside {sys.executable} nor on PATH"
    return executable


class PluginProcess:
    """``COMMAND [FLAGS...] ENGINE`` and a stub on the port it prints.

    ``command`` defaults to the installed executable; ``flags`` come before
    the engine's address, as the engine passes them; ``environ`` replaces
    the environment (else this one plus ``env``); ``cwd`` is where the engine
    runs it.
    """

    def __init__(self, engine_address: str, env: Optional[dict[str, str]] = None, *,
                 command: Sequence[str] = (), flags: Sequence[str] = (), cwd: Optional[str] = None,
                 environ: Optional[dict[str, str]] = None) -> None:
        argv = [*(command or [installed_executable()]), *flags, engine_address]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                                     env={**(os.environ if environ is None else environ), **(env or {})})
        self._lines: list[str] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self._lines), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True).start()
        first = poll(lambda: self._lines[:1], deadline_s=60, what="the plugin's port on stdout",
                     alive=lambda: self.proc.poll() is None)
        self.port = int(first[0].strip())
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def stop(self) -> None:
        self.channel.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    # -- the engine's calls ---------------------------------------------------
    def configure(self, **args: Any) -> provider_pb2.ConfigureResponse:
        return self.stub.Configure(provider_pb2.ConfigureRequest(
            args=struct(args), acceptSecrets=True, acceptResources=True))

    def check_config(self, **news: Any) -> provider_pb2.CheckResponse:
        return self.stub.CheckConfig(provider_pb2.CheckRequest(urn="urn:pulumi:test::proj::pulumi:providers:dicom-jobs::default",
                                                               olds=struct({}), news=struct(news)))

    def check(self, news: dict, type_: str = IMPORT_TYPE, olds: Optional[dict] = None) -> provider_pb2.CheckResponse:
        return self.stub.Check(provider_pb2.CheckRequest(urn=urn(type_), olds=struct(olds or {}), news=struct(news)))

    def diff(self, olds: dict, news: dict, type_: str = IMPORT_TYPE, *, id_: str = "op",
             old_inputs: Optional[dict] = None) -> provider_pb2.DiffResponse:
        """``olds`` are the recorded outputs, ``news`` the checked inputs, as the engine sends them."""
        request = provider_pb2.DiffRequest(urn=urn(type_), id=id_, olds=struct(olds), news=struct(news))
        if old_inputs is not None:
            request.old_inputs.CopyFrom(struct(old_inputs))
        return self.stub.Diff(request)

    def create(self, properties: dict, type_: str = IMPORT_TYPE, name: str = "job",
               timeout: float = 0.0, rpc_timeout: float = 120.0) -> provider_pb2.CreateResponse:
        return self.stub.Create(provider_pb2.CreateRequest(urn=urn(type_, name), properties=struct(properties),
                                                           timeout=timeout), timeout=rpc_timeout)

    def create_future(self, properties: dict, type_: str = IMPORT_TYPE, name: str = "job",
                      timeout: float = 0.0) -> grpc.Future:
        return self.stub.Create.future(provider_pb2.CreateRequest(
            urn=urn(type_, name), properties=struct(properties), timeout=timeout), timeout=600)

    def read(self, id_: str, properties: Optional[dict] = None, type_: str = IMPORT_TYPE, *,
             inputs: Optional[dict] = None) -> provider_pb2.ReadResponse:
        """Refresh sends the recorded outputs and inputs; import the id alone (no ``properties``, no
        ``inputs``)."""
        request = provider_pb2.ReadRequest(urn=urn(type_), id=id_, properties=struct(properties or {}))
        if inputs is not None:
            request.inputs.CopyFrom(struct(inputs))
        return self.stub.Read(request)

    def update(self, olds: dict, news: dict, type_: str = IMPORT_TYPE) -> provider_pb2.UpdateResponse:
        return self.stub.Update(provider_pb2.UpdateRequest(urn=urn(type_), id="op", olds=struct(olds),
                                                           news=struct(news)))

    def delete(self, id_: str, properties: dict, type_: str = IMPORT_TYPE) -> None:
        self.stub.Delete(provider_pb2.DeleteRequest(urn=urn(type_), id=id_, properties=struct(properties)))

    def cancel(self) -> None:
        self.stub.Cancel(empty_pb2.Empty())

    def plugin_info(self) -> plugin_pb2.PluginInfo:
        return self.stub.GetPluginInfo(empty_pb2.Empty())

    def get_schema(self) -> provider_pb2.GetSchemaResponse:
        return self.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0))


#: The wire form of a secret value (``pulumi.runtime.rpc``'s signature key and secret signature).
SECRET_SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


def secret(value: Any) -> dict:
    """``value`` as the engine sends a secret."""
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def generated_python_name(schema: dict) -> str:
    """The module and distribution name Pulumi's Python generator gives a package's SDK: the
    schema's ``language.python.packageName``, else ``pulumi_<name>`` (pulumi/pulumi
    ``pkg/codegen/python/gen.go``, ``generateModuleContextMap`` and ``PyPack``; the generated
    ``pyproject.toml``/``setup.py`` use the same name)."""
    return schema.get("language", {}).get("python", {}).get("packageName") or \
        "pulumi_" + schema["name"].replace("-", "_")


def struct(values: dict) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(values)
    return out


def plain(message: struct_pb2.Struct) -> dict:
    """A Struct as a dict (numbers stay floats, as on the wire)."""
    from google.protobuf.json_format import MessageToDict
    return MessageToDict(message)


def running(engine_env: Optional[dict[str, str]] = None, **how: Any) -> Iterator[tuple[RecordingEngine, PluginProcess]]:
    """An engine and a plugin started with its address (a generator for fixtures); ``how`` as
    :class:`PluginProcess` takes it."""
    engine = RecordingEngine()
    engine.server.start()
    plugin = PluginProcess(engine.address, engine_env, **how)
    try:
        yield engine, plugin
    finally:
        plugin.stop()
        engine.server.stop(grace=None)
