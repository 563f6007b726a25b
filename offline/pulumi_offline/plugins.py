"""Finding and starting provider plugins, as the engine finds and starts them.

A resource whose type token belongs to a package other than the emulated
ones (:data:`EMULATED_PACKAGES`: ``dicom-jobs:index:DicomImportJob``
belongs to ``dicom-jobs``) goes to that package's plugin, as the engine
loads every package's provider (``pkg/resource/deploy/providers/registry.go``,
``loadProvider``). Where it is (pulumi/pulumi
``sdk/go/common/workspace/plugins.go``, ``getPluginInfoAndPath``): the
folder ``Pulumi.yaml`` names for it (``plugins: providers:``, checked when
the project loads, :mod:`.program`), holding ``pulumi-resource-<package>``
or else a ``PulumiPlugin.yaml`` run through the language host
(``sdk/go/common/resource/plugin/plugin.go`` ``ExecPlugin``; Python:
``python DIR ENGINE`` from the plugin's virtualenv); else on ``PATH``, with
the engine's warning; else the engine's "no resource plugin" error. The
plugin cache of ``pulumi plugin install`` is not modelled. A plugin is
started with the address of :class:`EngineService` (the engine's own gRPC
service, where it sends its ``Log`` messages) and the environment
``provider_plugin.go`` ``NewProvider`` gives it (``PULUMI_PROJECT``,
``PULUMI_CONFIG``, ``PULUMI_RUNTIME_*``). Configuring it is the provider
registry's job (:mod:`.providers`).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import grpc
import yaml
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from .host import Diagnose, ProviderPlugin

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


@dataclass
class PluginCommand:
    """How to start a package's plugin: the command (the engine's address is appended), extra
    environment, and the warning the engine prints about where it found it (if any)."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    warning: str | None = None
    #: the path the engine names the plugin by (``Plugin.Bin``): ``FOLDER/pulumi-resource-PKG`` for a
    #: source plugin too; default ``argv[0]``
    binary: str | None = None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def plugin_runtime(manifest: Path) -> tuple[object, Mapping[str, object]]:
    """A ``PulumiPlugin.yaml``'s runtime name and options (``runtime: NAME`` or ``runtime: {name, options}``)."""
    runtime = (yaml.safe_load(manifest.read_text()) or {}).get("runtime")
    if not isinstance(runtime, Mapping):
        return runtime, {}
    return runtime.get("name"), runtime.get("options") or {}


def plugin_virtualenv(folder: Path, options: Mapping[str, object]) -> tuple[str, Path]:
    """The ``virtualenv`` option of a plugin in ``folder`` and the folder it names.

    pulumi-language-python ``parseOptions``: the default is "venv", relative to the plugin's
    folder; toolchain/pip.go ``resolveVirtualEnvironmentPath`` joins it with ``filepath.Join``,
    which cleans the path lexically, so "../.venv" of a linked plugin folder is beside the link,
    not beside what it points to.
    """
    option = str(options.get("virtualenv") or "venv")
    return option, Path(option) if Path(option).is_absolute() else Path(os.path.normpath(folder / option))


def _source_plugin(folder: Path, binary: Path, path: str) -> PluginCommand:
    """A folder without the binary: its ``PulumiPlugin.yaml`` run by the language host."""
    manifest = folder / "PulumiPlugin.yaml"
    if not manifest.is_file():
        raise PluginError(f"failed to load plugin {binary}: loading PulumiPlugin.yaml: "
                          f"open {manifest}: no such file or directory")
    name, options = plugin_runtime(manifest)
    if name != "python":
        raise PluginError(f"failed to load plugin {binary}: {manifest}: runtime {name!r} is not supported by "
                          "pulumi-offline (python only)")
    if options.get("toolchain", "pip") != "pip":
        raise PluginError(f"failed to load plugin {binary}: {manifest}: toolchain {options['toolchain']!r} is not "
                          "supported by pulumi-offline (pip only)")
    if not (folder / "__main__.py").is_file():
        raise PluginError(f"failed to load plugin {binary}: {folder} has no __main__.py (a plugin run as "
                          "`python -m pulumi.run.plugin` is not supported by pulumi-offline)")
    option, venv = plugin_virtualenv(folder, options)
    python = venv / "bin" / "python"
    if not python.exists():  # toolchain/pip.go ValidateVenv / NewVirtualEnvError
        raise PluginError(f"failed to load plugin {binary}: the 'virtualenv' option in {manifest} is set to "
                          f"{option!r}, but {venv} is not a virtual environment; create it with "
                          f"`python3 -m venv {venv}` and `{python} -m pip install -r {folder / 'requirements.txt'}`")
    # toolchain/pip.go ActivateVirtualEnv: VIRTUAL_ENV set, the venv's bin first on PATH.
    env = {"VIRTUAL_ENV": str(venv), "PATH": os.pathsep.join([str(venv / "bin"), path])}
    return PluginCommand([str(python), str(folder)], env, binary=str(binary))


def find_plugin(package: str, folder: Path | None, env: Mapping[str, str]) -> PluginCommand:
    """Where ``pulumi-resource-<package>`` is, as ``getPluginInfoAndPath`` looks for it."""
    filename = f"pulumi-resource-{package}"
    if folder is not None:
        binary = folder / filename
        if binary.is_file():
            return PluginCommand([str(binary)])
        return _source_plugin(folder, binary, env.get("PATH", ""))
    ambient = not _truthy(env.get("PULUMI_IGNORE_AMBIENT_PLUGINS"))
    if ambient:
        found = shutil.which(filename, path=env.get("PATH", ""))
        if found:
            return PluginCommand([found], warning=f"using {filename} from $PATH at {found}")
    where = " or on your $PATH" if ambient else ""
    raise PluginError(f"no resource plugin '{filename}' found in the workspace{where}")


def plugin_env(package: str, project: str, config: Mapping[str, str],
               runtime_options: Mapping[str, object]) -> dict[str, str]:
    """What ``provider_plugin.go`` ``NewProvider`` adds to a plugin's environment."""
    env = {f"PULUMI_RUNTIME_{key.upper()}": str(value) for key, value in runtime_options.items()}
    env["PULUMI_PROJECT"] = project
    prefix = f"{package}:"
    namespace = {key[len(prefix):]: value for key, value in config.items() if key.startswith(prefix)}
    env["PULUMI_CONFIG"] = json.dumps(namespace)
    return env


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
    """The plugin processes of one run (launched, not configured), and the engine service they log to."""

    def __init__(self, *, project: str, config: Mapping[str, str], env: Mapping[str, str], cwd: str,
                 sink: LogSink, paths: Mapping[str, Path] | None = None,
                 runtime_options: Mapping[str, object] | None = None, diagnose: Diagnose | None = None) -> None:
        self._project, self._config = project, dict(config)
        self._paths, self._runtime_options = dict(paths or {}), dict(runtime_options or {})
        self._env, self._cwd, self._sink = dict(env), cwd, sink
        #: where the plugins' own output is shown (:class:`~.host.ProviderPlugin`)
        self.diagnose = diagnose
        self._service: EngineService | None = None
        self._lock = threading.Lock()

    @property
    def engine_address(self) -> str:
        with self._lock:
            if self._service is None:
                self._service = EngineService(self._sink)
            return self._service.address

    def launch(self, package: str) -> tuple[ProviderPlugin, str | None]:
        """Start ``package``'s plugin; the engine's warning about where it was found, if any."""
        command = find_plugin(package, self._paths.get(package), self._env)
        env = {**self._env, **plugin_env(package, self._project, self._config, self._runtime_options),
               **command.env}
        plugin = ProviderPlugin([*command.argv, self.engine_address], env=env, cwd=self._cwd,
                                binary=command.binary, diagnose=self.diagnose)
        try:
            plugin.launch()
        except (OSError, RuntimeError) as exc:
            raise PluginError(f"failed to load plugin {command.argv[0]}: {exc}") from None
        return plugin, command.warning

    def stop(self) -> None:
        with self._lock:
            if self._service is not None:
                self._service.stop()
                self._service = None
