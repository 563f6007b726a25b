"""Provider plugins for the packages the offline engine does not emulate itself.

A resource whose type token belongs to a package other than the emulated
ones (:data:`EMULATED_PACKAGES`: ``dicom-jobs:index:DicomImportJob``
belongs to ``dicom-jobs``) goes to that package's plugin, as the engine
loads every package's provider (``pkg/resource/deploy/providers/registry.go``,
``loadProvider``): ``pulumi-resource-<package>``, found in the path
``Pulumi.yaml`` gives it (``plugins: providers:``), on ``PATH`` or beside the
Python interpreter (a venv's ``bin``), as the Pulumi CLI finds it. The
plugin is started once per run with the address of :class:`EngineService`
(the engine's own gRPC service, where the plugin sends its ``Log`` messages),
then checked and configured with the stack's config of its namespace, as the
engine does for a default provider.
"""

from __future__ import annotations

import os
import shutil
import threading
from concurrent import futures
from pathlib import Path
from typing import Callable, Mapping

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from .host import HostError, ProviderPlugin

#: Packages the offline engine serves itself: pulumi-gcp on the emulators (:mod:`.gcp`), the
#: dynamic provider host (``pulumi-python``) and the engine's own types (``pulumi``).
EMULATED_PACKAGES = frozenset({"gcp", "pulumi-python", "pulumi"})

#: ``(urn, severity, message, ephemeral)`` -> shown by the display.
LogSink = Callable[[str, int, str, bool], None]


class PluginError(RuntimeError):
    """A plugin could not be found, started or configured; the message is what the user sees."""


def package_of(type_token: str) -> str | None:
    """The plugin package a type token belongs to, or ``None`` when the engine emulates it."""
    package = type_token.split(":", 1)[0]
    return None if package in EMULATED_PACKAGES else package


def find_executable(package: str, python: str, project_path: Path | None = None) -> str:
    """``pulumi-resource-<package>``: in the project's ``plugins`` path (a folder or the file),
    else on ``PATH``, else beside ``python`` (a venv's ``bin``)."""
    name = f"pulumi-resource-{package}"
    candidates = [project_path / name, project_path] if project_path is not None else []
    found = shutil.which(name)
    candidates += [Path(found)] if found else []
    candidates.append(Path(python).parent / name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    where = f"in {project_path}, " if project_path is not None else ""
    raise PluginError(f"no resource plugin '{name}' found {where}on PATH or beside {python}")


def default_provider_urn(project: str, stack: str, package: str) -> str:
    return f"urn:pulumi:{stack}::{project}::pulumi:providers:{package}::default"


def package_config(config: Mapping[str, str], package: str) -> dict[str, str]:
    """The default provider's inputs: every config key of the package's namespace, without it."""
    prefix = f"{package}:"
    return {key[len(prefix):]: value for key, value in config.items()
            if key.startswith(prefix) and ":" not in key[len(prefix):]}


class EngineService(engine_pb2_grpc.EngineServicer):
    """The engine's gRPC service, on a loopback port: plugins send their log messages here."""

    def __init__(self, sink: LogSink) -> None:
        self._sink = sink
        self._root = ""
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="engine"))
        engine_pb2_grpc.add_EngineServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=None)

    def Log(self, request, context):  # noqa: N802 gRPC method name
        self._sink(request.urn, request.severity, request.message, bool(request.ephemeral))
        return empty_pb2.Empty()

    def GetRootResource(self, request, context):  # noqa: N802
        return engine_pb2.GetRootResourceResponse(urn=self._root)

    def SetRootResource(self, request, context):  # noqa: N802
        self._root = request.urn
        return engine_pb2.SetRootResourceResponse()


class Plugins:
    """The plugin processes of one run, started on first use, cancelled and stopped together."""

    def __init__(self, *, project: str, stack: str, config: Mapping[str, str], env: Mapping[str, str],
                 python: str, cwd: str, sink: LogSink, paths: Mapping[str, Path] | None = None) -> None:
        self._project, self._stack, self._config = project, stack, dict(config)
        self._paths = dict(paths or {})
        self._env, self._python, self._cwd, self._sink = dict(env), python, cwd, sink
        self._service: EngineService | None = None
        self._plugins: dict[str, ProviderPlugin] = {}
        self._lock = threading.Lock()

    def get(self, package: str) -> ProviderPlugin:
        with self._lock:
            if package not in self._plugins:
                self._plugins[package] = self._start(package)
            return self._plugins[package]

    def _start(self, package: str) -> ProviderPlugin:
        if self._service is None:
            self._service = EngineService(self._sink)
        executable = find_executable(package, self._python, self._paths.get(package))
        plugin = ProviderPlugin([executable, self._service.address],
                                env=self._env, cwd=self._cwd).launch()
        urn = default_provider_urn(self._project, self._stack, package)
        inputs = package_config(self._config, package)
        try:
            checked = plugin.check_config(urn, {}, inputs)
            if checked.failures:
                lines = "\n".join(f"  {prop or '(provider)'}: {reason}" for prop, reason in checked.failures)
                raise PluginError(f"{urn}: CheckConfig failed:\n{lines}")
            plugin.configure(checked.inputs, urn=urn,
                             variables={f"{package}:config:{k}": str(v) for k, v in inputs.items()})
        except HostError as exc:
            plugin.stop()
            raise PluginError(f"{urn}: {exc.method} failed: {exc.details}") from None
        except PluginError:
            plugin.stop()
            raise
        return plugin

    def cancel(self) -> None:
        """The engine's ``Cancel`` to every plugin started (Ctrl-C)."""
        with self._lock:
            plugins = list(self._plugins.values())
        for plugin in plugins:
            try:
                plugin.cancel()
            except HostError:
                pass  # a plugin already gone has nothing left to cancel

    def stop(self) -> None:
        with self._lock:
            for plugin in self._plugins.values():
                plugin.stop()
            self._plugins.clear()
            if self._service is not None:
                self._service.stop()
                self._service = None
