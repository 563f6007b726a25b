"""Where a resource's steps run: the provider registry of one run, default providers included.

Why: the engine sends each resource to the provider of its package
(``pkg/resource/deploy/providers/registry.go``). Here that is one of three:
the SDK's dynamic provider host (package ``pulumi-python``), a provider
plugin process per package (:mod:`.plugins`), or the local pulumi-gcp
appliers (:mod:`.gcp`). :class:`ProcessProvider` and
:class:`LocalGcpProvider` give a step the same calls on either.

A plugin's configuration is a resource of its own, the package's default
provider (``pulumi:providers:PKG::default``, kept in the state but never
shown or counted, ``pkg/engine/update.go`` ``isInternalStep``), with the
registry's lifecycle: ``CheckConfig`` of the stack's config against the
saved one, ``DiffConfig`` when there is a saved one (unimplemented: the
saved outputs compared with the new inputs), then ``Configure`` with the
provider's id (a new uuid when it is created or replaced; ``Registry.Check``,
``Diff``, ``Create``, ``Update``, ``Same``). A run that works from the state
only (destroy, refresh, the deletes of an update) configures a provider
with its saved inputs (``Registry.Same``). At the end every process gets
``Cancel`` and is closed (``pkg/host/host.go`` ``Close``); on Ctrl-C every
one gets ``Cancel`` at once (``SignalCancellation``, 30 s).
Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import grpc
from pulumi.runtime.proto import provider_pb2

from .gcp import Applier, LocalCloud, LocalGcp
from .host import PROVIDER_KEY, Diagnose, DiffResult, DynamicProviderHost, HostError, ProviderPlugin
from .messages import CheckFailed, StepError
from .plugins import LogSink, PluginError, Plugins, package_of
from .program import Project
from .state import ResourceState, has_unknown, known, to_json

if TYPE_CHECKING:
    from .step import Step

DYNAMIC_PREFIX = "pulumi-python:dynamic"
DYNAMIC_PACKAGE = "pulumi-python"
#: Provider resources (default ones, or explicit ones a program registers).
PROVIDER_PREFIX = "pulumi:providers:"
#: ``sdk/go/common/resource/plugin`` ``UnknownStringValue``: a provider's id in a preview.
UNKNOWN_ID = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def outputs_for_provider(res: ResourceState) -> dict[str, Any]:
    """A resource's saved outputs as its provider gets them back: with the serialized dynamic provider."""
    return {**res.outputs, PROVIDER_KEY: res.provider} if res.provider else res.outputs


def package_config(config: Mapping[str, str], package: str) -> dict[str, str]:
    """A default provider's inputs: every config key of the package's namespace, without it."""
    prefix = f"{package}:"
    return {key[len(prefix):]: value for key, value in config.items()
            if key.startswith(prefix) and ":" not in key[len(prefix):]}


def config_variables(package: str, inputs: Mapping[str, Any]) -> dict[str, str]:
    """``Configure``'s ``variables``: ``PKG:config:KEY``, non-strings as JSON (``provider_plugin.go``)."""
    return {f"{package}:config:{key}": value if isinstance(value, str) else json.dumps(value)
            for key, value in inputs.items() if key != "version"}


def is_default_provider(res: ResourceState) -> bool:
    return res.type.startswith(PROVIDER_PREFIX) and res.name.startswith("default")


class ProcessProvider:
    """A provider process over gRPC: the SDK's dynamic provider host or a provider plugin."""

    shows_row = True

    def __init__(self, plugin: ProviderPlugin, ref: str = "") -> None:
        self.plugin = plugin
        self.ref = ref  # ``URN::ID`` of the default provider it is
        self.dynamic = isinstance(plugin, DynamicProviderHost)

    def preview(self, step: "Step") -> tuple[str, dict[str, Any]]:
        """A plugin that supports previews is asked (``Create``/``Update`` with ``preview``); else the
        engine shows the inputs as the outputs (``provider_plugin.go`` ``Create``)."""
        reg = step.registration
        if self.plugin.supports_preview and step.kind in ("create", "replace"):
            return self.plugin.create(step.urn, step.news, custom_timeout=reg.custom_timeouts.get("create"),
                                      preview=True)
        if self.plugin.supports_preview and step.kind == "update":
            old = step.old
            return old.id, self.plugin.update(step.urn, old.id, outputs_for_provider(old), step.news,
                                              old_inputs=old.inputs, custom_timeout=reg.custom_timeouts.get("update"),
                                              ignore_changes=reg.ignore_changes, preview=True)
        return (step.old.id if step.old and step.kind == "update" else ""), known(step.news)

    def create(self, step: "Step") -> tuple[str, dict[str, Any]]:
        return self.plugin.create(step.urn, step.news,
                                  custom_timeout=step.registration.custom_timeouts.get("create"))

    def update(self, step: "Step") -> dict[str, Any]:
        old, reg = step.old, step.registration
        return self.plugin.update(step.urn, old.id, outputs_for_provider(old), step.news, old_inputs=old.inputs,
                                  custom_timeout=reg.custom_timeouts.get("update"),
                                  ignore_changes=reg.ignore_changes)

    def delete(self, old: ResourceState) -> str | None:
        self.plugin.delete(old.urn, old.id, outputs_for_provider(old), old_inputs=old.inputs,
                           custom_timeout=old.custom_timeouts.get("delete"))
        return None


class LocalGcpProvider:
    """A pulumi-gcp type applied to the local emulators (quick calls: no display row)."""

    shows_row = False
    ref = ""

    def __init__(self, applier: Applier) -> None:
        self.applier = applier

    def preview(self, step: "Step") -> tuple[str, dict[str, Any]]:
        if has_unknown(step.news):
            return "", known(step.news)
        return ((step.old.id if step.old and step.kind == "update" else ""),
                self.applier.preview_outputs(step.name, step.news))

    def create(self, step: "Step") -> tuple[str, dict[str, Any]]:
        return self.applier.create(step.name, to_json(known(step.news)))

    def update(self, step: "Step") -> dict[str, Any]:
        return self.applier.update(step.old, to_json(known(step.news)))

    def delete(self, old: ResourceState) -> str | None:
        return self.applier.delete(old)


@dataclass
class _Started:
    plugin: ProviderPlugin
    entry: ResourceState  # the default provider's state (inputs, id)

    @property
    def ref(self) -> str:
        return f"{self.entry.urn}::{self.entry.id}"


class Providers:
    """The providers of one run of ``project``'s stack (processes started on first use).

    ``old`` finds a default provider's saved state by URN; ``record`` is
    handed each default provider's new state (the journal keeps it);
    ``warn`` takes the engine's warnings about where a plugin was found.
    """

    def __init__(self, project: Project, stack: str, config: Mapping[str, str], *, env: Mapping[str, str],
                 python: str, sink: LogSink, old: Callable[[str], ResourceState | None] = lambda urn: None,
                 record: Callable[[ResourceState], None] = lambda entry: None,
                 warn: Callable[[str], None] = lambda text: None, preview: bool = False,
                 diagnose: Diagnose | None = None) -> None:
        self._project, self._stack, self._config = project, stack, dict(config)
        self._env, self._python = dict(env), python
        self._old, self._record, self._warn, self.preview = old, record, warn, preview
        self.gcp = LocalGcp(LocalCloud(self._env, project=self._config.get("gcp:project")))
        self.plugins = Plugins(project=project.name, config=self._config, env=self._env,
                               cwd=str(project.directory), sink=sink, paths=project.plugin_paths,
                               runtime_options=project.runtime_options, diagnose=diagnose)
        self._lock = threading.RLock()
        self._by_package: dict[str, _Started] = {}  # this run's default provider of each package
        self._by_ref: dict[str, _Started] = {}  # every started one, by URN::ID
        self._baseline_path = list(sys.path)
        #: the dynamic host's PYTHONPATH entries (the program's folder and what it added to sys.path)
        self.host_path: list[str] = []

    # ------------------------------------------------------------------ routing
    def for_type(self, type_: str) -> ProcessProvider | LocalGcpProvider:
        """The provider of a custom resource the program registers (its package's default provider)."""
        package = DYNAMIC_PACKAGE if type_.startswith(DYNAMIC_PREFIX) else package_of(type_)
        if package is None:
            return LocalGcpProvider(self.gcp.applier(type_))
        started = self._default(package)
        return ProcessProvider(started.plugin, started.ref)

    def for_state(self, res: ResourceState) -> ProcessProvider | LocalGcpProvider:
        """The provider of a saved resource (a delete, a refresh): the provider it was saved with,
        configured from its saved inputs, unless it is this run's."""
        package = DYNAMIC_PACKAGE if res.type.startswith(DYNAMIC_PREFIX) else package_of(res.type)
        if package is None:
            return LocalGcpProvider(self.gcp.applier(res.type))
        with self._lock:
            started = self._by_ref.get(res.provider_ref)
            if started is None:
                saved = self._old(res.provider_urn) if res.provider_ref else None
                if saved is not None and f"{saved.urn}::{saved.id}" == res.provider_ref:
                    started = self._same(package, saved)
                else:
                    started = self._default(package)
            return ProcessProvider(started.plugin, started.ref)

    def invoke(self, token: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """A provider function the program calls (``gcp.organizations.get_project()``)."""
        return self.gcp.call(token, args)

    def started(self) -> list[ResourceState]:
        """The default providers this run registered (their new state)."""
        with self._lock:
            return [s.entry for s in self._by_package.values()]

    # ------------------------------------------------------------------ the default provider's lifecycle
    def default_urn(self, package: str) -> str:
        return f"urn:pulumi:{self._stack}::{self._project.name}::{PROVIDER_PREFIX}{package}::default"

    def _launch(self, package: str) -> ProviderPlugin:
        if package == DYNAMIC_PACKAGE:
            return self._dynamic_host()
        try:
            plugin, warning = self.plugins.launch(package)
        except PluginError as exc:
            raise StepError(str(exc)) from None
        if warning:
            self._warn(warning)
        return plugin

    def _default(self, package: str) -> _Started:
        with self._lock:
            started = self._by_package.get(package)
            if started is None:
                started = self._by_package[package] = self._register_default(package)
                self._by_ref[started.ref] = started
                self._record(started.entry)
            return started

    def _register_default(self, package: str) -> _Started:
        """CheckConfig, DiffConfig against the saved provider, then Configure (``registry.go``)."""
        urn = self.default_urn(package)
        old = self._old(urn)
        news = package_config(self._config, package)
        plugin = self._launch(package)
        try:
            checked = self._check_config(plugin, urn, old.inputs if old else {}, news)
            ident = UNKNOWN_ID if self.preview else str(uuid.uuid4())
            if old is not None and old.id and old.id != UNKNOWN_ID:
                diff = self._diff_config(plugin, urn, old, checked)
                if not diff.replaces and not any(kind in _REPLACE_KINDS for kind in diff.detailed.values()):
                    ident = old.id  # same, or an update in place: the provider keeps its id
            entry = ResourceState(urn=urn, type=f"{PROVIDER_PREFIX}{package}", id=ident, inputs=to_json(checked),
                                  outputs=to_json(checked))
            plugin.configure(checked, variables=config_variables(package, checked), urn=urn, id_=ident)
        except HostError as exc:
            plugin.close()
            raise StepError(exc.details) from None
        except StepError:
            plugin.close()
            raise
        return _Started(plugin, entry)

    def _same(self, package: str, saved: ResourceState) -> _Started:
        """A provider loaded from the state and configured with its saved inputs (``Registry.Same``)."""
        plugin = self._launch(package)
        try:
            plugin.configure(saved.inputs, variables=config_variables(package, saved.inputs), urn=saved.urn,
                             id_=saved.id)
        except HostError as exc:
            plugin.close()
            raise StepError(exc.details) from None
        started = _Started(plugin, saved)
        self._by_ref[started.ref] = started
        return started

    @staticmethod
    def _check_config(plugin: ProviderPlugin, urn: str, olds: Mapping[str, Any],
                      news: Mapping[str, Any]) -> dict[str, Any]:
        try:
            checked = plugin.check_config(urn, olds, news)
        except HostError as exc:
            if exc.code == grpc.StatusCode.UNIMPLEMENTED:
                return dict(news)  # provider_plugin.go CheckConfig: unimplemented, the news as they are
            raise
        if checked.failures:  # as for any resource: the provider resource's Check failed
            raise CheckFailed(urn.rsplit("::", 1)[-1], urn.split("::")[2], checked.failures, news)
        return checked.inputs

    @staticmethod
    def _diff_config(plugin: ProviderPlugin, urn: str, old: ResourceState, news: Mapping[str, Any]):
        try:
            diff = plugin.diff_config(urn, old.inputs, old.outputs, news)
        except HostError as exc:
            if exc.code != grpc.StatusCode.UNIMPLEMENTED:
                raise
            diff = None
        if diff is None or diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN:
            # registry.go Diff: unknown -> the saved outputs against the new inputs
            same = dict(old.outputs) == to_json(dict(news))
            return DiffResult(provider_pb2.DiffResponse.DIFF_NONE if same else provider_pb2.DiffResponse.DIFF_SOME,
                              [], False)
        return diff

    def _dynamic_host(self) -> DynamicProviderHost:
        if not self.host_path:
            self.host_path = [str(self._project.directory)] + [
                p for p in sys.path if p and p not in self._baseline_path and os.path.isdir(p)]
        paths = [*self.host_path, *filter(None, self._env.get("PYTHONPATH", "").split(os.pathsep))]
        env = {**self._env, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
        host = DynamicProviderHost(self._project.name, env=env, python=self._python, cwd=str(self._project.directory),
                                   engine=self.plugins.engine_address, diagnose=self.plugins.diagnose)
        try:
            host.launch()
        except (OSError, RuntimeError) as exc:
            raise StepError(f"failed to load plugin pulumi-resource-{DYNAMIC_PACKAGE}: {exc}") from None
        return host

    # ------------------------------------------------------------------ cancel and close
    def _all(self) -> list[ProviderPlugin]:
        with self._lock:
            return list({id(s.plugin): s.plugin for s in self._by_ref.values()}.values())

    def _each(self, action: Callable[[ProviderPlugin], None]) -> None:
        threads = [threading.Thread(target=action, args=(plugin,), daemon=True) for plugin in self._all()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def cancel(self) -> None:
        """The engine's ``Cancel`` to every provider process of the run, all at once (30 s each)."""
        def cancel(plugin: ProviderPlugin) -> None:
            try:
                plugin.cancel()
            except HostError:
                pass  # gone already, or no Cancel: nothing to cancel
        self._each(cancel)

    def stop(self) -> None:
        """The end of the run: every process gets ``Cancel`` and is closed (``host.go`` ``Close``)."""
        self._each(lambda plugin: plugin.close())
        self._forget()

    def kill(self) -> None:
        """Terminate: every process group killed at once."""
        self._each(lambda plugin: plugin.kill())
        self._forget()

    def _forget(self) -> None:
        with self._lock:
            self._by_ref.clear()
            self._by_package.clear()
        self.plugins.stop()


#: ``PropertyDiff`` kinds that replace (``ADD_REPLACE``, ``DELETE_REPLACE``, ``UPDATE_REPLACE``).
_REPLACE_KINDS = frozenset({provider_pb2.PropertyDiff.ADD_REPLACE, provider_pb2.PropertyDiff.DELETE_REPLACE,
                            provider_pb2.PropertyDiff.UPDATE_REPLACE})
