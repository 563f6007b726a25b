"""Where a resource's steps run: the provider registry of one run.

Why: the engine sends each resource to the provider of its package
(``pkg/resource/deploy/providers/registry.go``). Here that is one of three:
the SDK's dynamic provider host (one process per run, for
``pulumi-python:dynamic`` types), a provider plugin process per package
(:mod:`.plugins`: ``dicom-jobs``), or the local pulumi-gcp appliers
(:mod:`.gcp`). :class:`ProcessProvider` and :class:`LocalGcpProvider` give
a step the same calls on either; :class:`Providers` starts processes on
first use, and cancels and stops them together.
Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any, Mapping

from .gcp import Applier, LocalCloud, LocalGcp
from .host import PROVIDER_KEY, DynamicProviderHost, HostError, ProviderPlugin
from .messages import StepError
from .plugins import LogSink, PluginError, Plugins, package_of
from .program import Project
from .state import ResourceState, has_unknown, known, to_json

if TYPE_CHECKING:
    from .step import Step

DYNAMIC_PREFIX = "pulumi-python:dynamic"
#: Explicit provider resources: recorded as registered, nothing to apply.
PROVIDER_PREFIX = "pulumi:providers:"


def outputs_for_provider(res: ResourceState) -> dict[str, Any]:
    """A resource's saved outputs as its provider gets them back: with the serialized dynamic provider."""
    return {**res.outputs, PROVIDER_KEY: res.provider} if res.provider else res.outputs


class ProcessProvider:
    """A provider process over gRPC: the SDK's dynamic provider host or a provider plugin."""

    shows_row = True

    def __init__(self, plugin: ProviderPlugin) -> None:
        self.plugin = plugin
        self.dynamic = isinstance(plugin, DynamicProviderHost)

    def preview(self, step: "Step") -> tuple[str, dict[str, Any]]:
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


class Providers:
    """The providers of one run of ``project``'s stack (processes started on first use)."""

    def __init__(self, project: Project, stack: str, config: Mapping[str, str], *, env: Mapping[str, str],
                 python: str, sink: LogSink) -> None:
        self._project, self._config, self._env, self._python = project, dict(config), dict(env), python
        self.gcp = LocalGcp(LocalCloud(self._env, project=self._config.get("gcp:project")))
        self.plugins = Plugins(project=project.name, stack=stack, config=self._config, env=self._env,
                               python=python, cwd=str(project.directory), sink=sink,
                               paths=project.plugin_paths)
        self._host: DynamicProviderHost | None = None
        self._host_lock = threading.Lock()
        self._baseline_path = list(sys.path)
        #: the dynamic host's PYTHONPATH entries (the program's folder and what it added to sys.path)
        self.host_path: list[str] = []

    def for_type(self, type_: str) -> ProcessProvider | LocalGcpProvider:
        """The provider of a custom resource of type ``type_`` (started if it is a process not running yet)."""
        if type_.startswith(DYNAMIC_PREFIX):
            return ProcessProvider(self.host())
        package = package_of(type_)
        if package is not None:
            return ProcessProvider(self._plugin(package))
        return LocalGcpProvider(self.gcp.applier(type_))

    def invoke(self, token: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """A provider function the program calls (``gcp.organizations.get_project()``)."""
        return self.gcp.call(token, args)

    def host(self) -> DynamicProviderHost:
        with self._host_lock:
            if self._host is None:
                if not self.host_path:
                    self.host_path = [str(self._project.directory)] + [
                        p for p in sys.path if p and p not in self._baseline_path and os.path.isdir(p)]
                paths = [*self.host_path, *filter(None, self._env.get("PYTHONPATH", "").split(os.pathsep))]
                env = {**self._env, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
                self._host = DynamicProviderHost(self._project.name, env=env, python=self._python,
                                                 cwd=str(self._project.directory)).start(self._config)
            return self._host

    def _plugin(self, package: str) -> ProviderPlugin:
        try:
            return self.plugins.get(package)
        except PluginError as exc:
            raise StepError(str(exc)) from None

    def cancel(self) -> None:
        """The engine's ``Cancel`` to every provider process of the run."""
        with self._host_lock:
            host = self._host
        if host is not None:
            try:
                host.cancel()
            except HostError:
                pass  # gone already: nothing to cancel
        self.plugins.cancel()

    def stop(self) -> None:
        with self._host_lock:
            if self._host is not None:
                self._host.stop()
                self._host = None
        self.plugins.stop()
