"""Plan and apply: what ``pulumi preview`` / ``up`` / ``destroy`` do, in small.

The program registers resources through the SDK's mock monitor; every
registration lands in :meth:`Engine.new_resource` on one of the event loop's
executor threads and blocks there until the resource is applied, so outputs
flow into dependent resources exactly as under the real engine:

* it first waits for its dependencies (explicit ``depends_on`` and those
  implied by inputs, both read from the ``RegisterResourceRequest``);
* dynamic resources (``pulumi-python:dynamic...``) go to ONE real dynamic
  provider host process per run, and resources of a plugin package
  (``dicom-jobs:index:*``, :mod:`pulumi_offline.plugins`) to that package's
  provider plugin process: ``Check``, ``Diff`` against the saved state, then
  ``Create`` / ``Update`` / replace as the engine decides from the
  ``DiffResponse``, with the request fields the engine sends (old inputs,
  ``customTimeouts`` as ``timeout``, ``ignoreChanges``);
* pulumi-gcp resources go to :mod:`pulumi_offline.gcp_local`;
* independent resources run in parallel (``--parallel N`` caps them).

After a failure, or after :meth:`Engine.cancel` (Ctrl-C, which also sends
``Cancel`` to every provider), no new step starts, in-flight steps finish, and
the state keeps what succeeded. Resources no longer in the program are
deleted after a successful run, dependents first; a protected resource is
never deleted or replaced (the engine's own refusal message).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from pulumi.runtime import mocks as sdk_mocks
from pulumi.runtime.proto import provider_pb2

from . import state as state_mod
from .display import Display
from .gcp_local import CloudError, LocalCloud, UnsupportedError
from .host import PROVIDER_KEY, DynamicProviderHost, HostError, ProviderPlugin
from .plugins import PluginError, Plugins, package_of
from .program import Project, config_missing_message, run_program
from .state import ResourceState, StackState, plain

DYNAMIC_PREFIX = "pulumi-python:dynamic"
#: A run that Ctrl-C cancelled fails with this when no step failed (the steps not started were skipped).
CANCELLED = "the update was cancelled (Ctrl-C): steps not started yet were skipped"
PROVIDER_PREFIX = "pulumi:providers:"


class StepError(Exception):
    """A step failed; the message is what the user sees (no stack trace)."""


class CheckFailed(StepError):
    def __init__(self, name: str, type_: str, failures: list[tuple[str, str]]) -> None:
        lines = "\n".join(f"  {prop or '(resource)'}: {reason}" for prop, reason in failures)
        super().__init__(f"{name} ({type_}): Check failed:\n{lines}")
        self.failures = failures


class Skipped(StepError):
    """Not applied because an earlier step failed."""


def protected_delete_message(urn: str) -> str:
    """What the Pulumi engine says when a step would delete a protected resource."""
    return (f"unable to delete resource \"{urn}\"\n"
            "as it is currently marked for protection. To unprotect the resource, either remove the "
            "`protect` flag from the resource in your Pulumi program and run `pulumi up` or use the command:\n"
            f"`pulumi state unprotect '{urn}'`")


def protected_replace_message(urn: str) -> str:
    """What the Pulumi engine says when a change would replace a protected resource."""
    return (f"unable to replace resource \"{urn}\"\n"
            "as it is currently marked for protection. To unprotect the resource, remove the "
            "`protect` flag from the resource in your Pulumi program and run `pulumi up`")


_GO_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")


def go_duration_seconds(text: str) -> float | None:
    """``customTimeouts`` values are Go durations (``"1h30m"``, ``"90s"``); ``None`` when empty."""
    text = (text or "").strip()
    if not text:
        return None
    parts = _GO_DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise StepError(f"customTimeouts: {text!r} is not a duration (for example 90s, 5m, 1h30m)")
    return sum(float(number) * _GO_DURATION_UNITS[unit] for number, unit in parts)


@dataclass
class _Registration:
    urn: str
    parent: str
    dependencies: list[str]
    custom: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]
    replace_on_changes: list[str]
    protect: bool = False
    custom_timeouts: dict[str, float] = field(default_factory=dict)


@dataclass
class Result:
    ok: bool
    counts: dict[str, int] = field(default_factory=dict)
    steps: list[tuple[str, str]] = field(default_factory=list)  # (kind, urn)
    outputs: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _Monitor(sdk_mocks.MockMonitor):
    """The SDK's mock monitor, plus what the engine needs from each request."""

    def __init__(self, engine: "Engine") -> None:
        super().__init__(engine)
        self.engine = engine

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine forms them: the parent's whole type chain, and none for the stack's
        children (the SDK's mock keeps only the parent's last type and counts the stack); a
        provider reads the resource's type from its URN."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([self.engine.stack, self.engine.project.name, type_, name])

    def RegisterResource(self, request):  # noqa: N802 gRPC method name
        if request.type != "pulumi:pulumi:Stack":
            deps = list(request.dependencies)
            for prop in request.propertyDependencies.values():
                deps.extend(prop.urns)
            self.engine._tls.registration = _Registration(
                urn=self.make_urn(request.parent, request.type, request.name),
                parent=request.parent,
                dependencies=sorted(set(deps)),
                custom=bool(request.custom),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=list(request.ignoreChanges),
                replace_on_changes=list(request.replaceOnChanges),
                protect=bool(request.protect),
                custom_timeouts=_custom_timeouts(request),
            )
        return super().RegisterResource(request)

    def ReadResource(self, request):  # noqa: N802
        message = (f"reading an existing resource ({request.type} {request.name!r}, id {request.id!r}) "
                   "is not supported by pulumi-offline")
        self.engine._fail(message)
        raise UnsupportedError(message)


def _custom_timeouts(request) -> dict[str, float]:
    """``customTimeouts`` of a registration, in seconds (only those given)."""
    if not request.HasField("customTimeouts"):
        return {}
    given = {op: go_duration_seconds(getattr(request.customTimeouts, op)) for op in ("create", "update", "delete")}
    return {op: seconds for op, seconds in given.items() if seconds is not None}


#: How the SDK's provider server (``pulumi.provider.experimental``) words an exception: the gRPC
#: server's "Unexpected <class>: " prefix, the message, then ":" and the formatted stack frames.
_SERVER_FRAMES = re.compile(r"\AUnexpected <class '[\w.]+'>: (?P<message>.*?):\n  File \"", re.S)


def provider_message(details: str) -> str:
    """The provider's exception message out of the host's error details (which carry a traceback)."""
    framed = _SERVER_FRAMES.match(details)
    if framed:
        return framed.group("message").strip()
    lines = details.splitlines()
    frames = [i for i, line in enumerate(lines) if line.lstrip().startswith('File "')]
    if "Traceback (most recent call last):" not in details or not frames:
        return details.strip()
    rest = lines[frames[-1] + 1:]
    while rest and rest[0].startswith("    "):
        rest = rest[1:]
    message = "\n".join(rest).strip()
    return message or details.strip()


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any], ignore: list[str] = ()) -> set[str]:
    keys = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
    return {k for k in keys if k not in ignore and k.split(".")[0] not in ignore}


def _has_unknown(value: Any) -> bool:
    from pulumi.output import Unknown
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_unknown(v) for v in value)
    return False


def _known(value: Any) -> Any:
    """Drop unknown values (preview) so they stay unknown for the program."""
    from pulumi.output import Unknown
    if isinstance(value, dict):
        return {k: _known(v) for k, v in value.items() if not isinstance(v, Unknown)}
    return value


class Engine(sdk_mocks.Mocks):
    """One run of one stack. ``env`` points at the local stack (defaults to ``os.environ``)."""

    def __init__(self, project: Project, stack: str, config: Mapping[str, str], *,
                 env: Mapping[str, str] | None = None, parallel: int | None = None,
                 display: Display | None = None, python: str = sys.executable) -> None:
        self.project = project
        self.stack = stack
        self.config = dict(config)
        self.env = {**os.environ, **(env or {})}
        self.parallel = parallel if parallel and parallel > 0 else None
        self.display = display or Display()
        self.python = python
        self.cloud = LocalCloud(self.env, project=self.config.get("gcp:project"))
        self.plugins = Plugins(project=project.name, stack=stack, config=self.config, env=self.env,
                               python=python, cwd=str(project.directory), sink=self._on_log,
                               paths=project.plugin_paths)
        self.cancelled = False
        self._tls = threading.local()
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._slots = threading.BoundedSemaphore(self.parallel) if self.parallel else None
        self._host: DynamicProviderHost | None = None
        self._host_lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}
        self._failed_urns: set[str] = set()
        self._inflight = 0
        self.errors: list[str] = []
        self.steps: list[tuple[str, str]] = []
        self.preview = False
        self.old = StackState()
        self.state = StackState()
        self.registered: set[str] = set()
        self._baseline_path = list(sys.path)
        self._host_path: list[str] = []

    # ------------------------------------------------------------------ public
    def cancel(self) -> None:
        """Ctrl-C: start no new step and send ``Cancel`` to every provider process of the run."""
        self.cancelled = True
        with self._host_lock:
            host = self._host
        providers: list[ProviderPlugin] = [host] if host is not None else []
        for provider in providers:
            try:
                provider.cancel()
            except HostError:
                pass  # gone already: nothing to cancel
        self.plugins.cancel()

    def _on_log(self, urn: str, severity: int, message: str, ephemeral: bool) -> None:
        """A provider's ``Log`` call: ephemeral status into the resource's row, the rest kept."""
        from pulumi.runtime.proto import engine_pb2
        if ephemeral:
            self.display.status(urn, message)
        elif severity != engine_pb2.DEBUG:
            word = {engine_pb2.WARNING: "warning", engine_pb2.ERROR: "error"}.get(severity, "info")
            self.display.diagnostic(urn, word, message)

    def run_preview(self) -> Result:
        return self._run(preview=True)

    def run_up(self) -> Result:
        return self._run(preview=False)

    def run_destroy(self) -> Result:
        start = time.monotonic()
        self.display.header("Destroying", self.project.name, self.stack)
        self.old = state_mod.load(self.project.directory, self.stack)
        self.state = StackState(dict(self.old.resources), {}, dict(self.old.meta))
        self._host_path = list(self.old.meta.get("host_pythonpath", []))
        try:
            self._delete_all([self.old.resources[u] for u in state_mod.topological(self.old.resources.values())])
        finally:
            self._stop_host()
            self._save()
        return self._finish(False, start, {})

    # ------------------------------------------------------------------ run
    def _run(self, preview: bool) -> Result:
        start = time.monotonic()
        self.preview = preview
        self.display.header("Previewing update" if preview else "Updating", self.project.name, self.stack)
        self.old = state_mod.load(self.project.directory, self.stack)
        self.state = StackState(dict(self.old.resources), dict(self.old.outputs), dict(self.old.meta))
        outputs: dict[str, Any] = {}
        program_ok = False
        try:
            try:
                outputs = run_program(self.project, self.stack, self.config, mocks=self, monitor=_Monitor(self),
                                      preview=preview, after=self._wait_inflight) or {}
                program_ok = not self.errors
            except BaseException as exc:  # noqa: BLE001 reported, never a stack trace for engine errors
                if self.cancelled and not self.errors:
                    self.errors.append(CANCELLED)  # the skipped registrations failed the program
                missing = config_missing_message(exc, self.project, self.stack)
                if missing and not self.errors:
                    self.errors.append(missing)
                elif not self.errors:
                    self.errors.append("the program failed:\n" + "".join(
                        traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
            if program_ok:
                removed = [self.old.resources[u] for u in state_mod.topological(self.old.resources.values())
                           if u not in self.registered]
                if preview:
                    for res in reversed(removed):
                        kind = "retain" if res.retain_on_delete else "delete"
                        self._record(kind, res.urn)
                        self.display.step(kind, res.type, res.name, preview=True)
                else:
                    self._delete_all(removed)
        finally:
            self._stop_host()
            if not preview:
                if program_ok and not self.errors:
                    self.state.outputs = state_mod.to_json(outputs)
                self._save()
        return self._finish(preview, start, outputs if program_ok else {})

    def _finish(self, preview: bool, start: float, outputs: dict[str, Any]) -> Result:
        if self.cancelled and not self.errors:
            self.errors.append(CANCELLED)
        counts: dict[str, int] = {}
        for kind, _ in self.steps:
            counts[kind] = counts.get(kind, 0) + 1
        seconds = time.monotonic() - start
        self.display.summary(counts, preview=preview, seconds=seconds, outputs=outputs, errors=self.errors)
        return Result(not self.errors, counts, list(self.steps), outputs, list(self.errors), seconds)

    def _save(self) -> None:
        self.state.meta = {"project": self.project.name,
                           "host_pythonpath": self._host_path or self.old.meta.get("host_pythonpath", [])}
        state_mod.save(self.project.directory, self.stack, self.state)

    def _record(self, kind: str, urn: str) -> None:
        with self._lock:
            self.steps.append((kind, urn))

    def _fail(self, message: str, urn: str | None = None) -> None:
        with self._lock:
            self.errors.append(message)
            if urn:
                self._failed_urns.add(urn)

    def _wait_inflight(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._inflight == 0)

    # ------------------------------------------------------------------ mocks
    def call(self, args: sdk_mocks.MockCallArgs):
        try:
            return self.cloud.call(args.token, plain(args.args)), []
        except (UnsupportedError, CloudError) as exc:
            self._fail(str(exc))
            raise

    def new_resource(self, args: sdk_mocks.MockResourceArgs):
        reg: _Registration = self._tls.registration
        self._tls.registration = None
        urn = reg.urn
        with self._cond:
            self._inflight += 1
            self.registered.add(urn)
            event = self._events.setdefault(urn, threading.Event())
        try:
            return self._register(urn, reg, args)
        except StepError as exc:
            if not isinstance(exc, Skipped):
                self._fail(str(exc), urn)
                self.display.failed(args.typ, args.name, str(exc), urn=urn)
            else:
                with self._lock:
                    self._failed_urns.add(urn)
            raise
        except (UnsupportedError, CloudError, HostError) as exc:
            detail = f"{exc.method} failed: {provider_message(exc.details)}" if isinstance(exc, HostError) else exc
            message = f"{args.name} ({args.typ}): {detail}"
            self._fail(message, urn)
            self.display.failed(args.typ, args.name, message, urn=urn)
            raise StepError(message) from None
        except Exception as exc:  # noqa: BLE001 an engine bug: keep the trace
            message = f"{args.name} ({args.typ}): internal error: {exc!r}\n{traceback.format_exc()}"
            self._fail(message, urn)
            self.display.failed(args.typ, args.name, message, urn=urn)
            raise
        finally:
            event.set()
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()

    def _register(self, urn: str, reg: _Registration, args: sdk_mocks.MockResourceArgs):
        for dep in [*reg.dependencies, reg.parent]:
            dep_event = self._events.get(dep)
            if dep_event is not None:
                dep_event.wait()
            if dep in self._failed_urns:
                raise Skipped(f"{args.name}: not applied, dependency {dep} failed")
        if self.errors:
            raise Skipped(f"{args.name}: not applied, an earlier step failed")
        if self.cancelled:
            raise Skipped(f"{args.name}: not applied, the update was cancelled")
        inputs = plain(dict(args.inputs))
        old = self.old.resources.get(urn)
        if old is not None and old.type != args.typ:
            old = None  # a different resource under the same name: created anew
        entry = ResourceState(urn=urn, type=args.typ, custom=reg.custom, dependencies=reg.dependencies,
                              parent=reg.parent, retain_on_delete=reg.retain_on_delete,
                              delete_before_replace=reg.delete_before_replace, protect=reg.protect,
                              custom_timeouts=reg.custom_timeouts)
        if not reg.custom or args.typ.startswith(PROVIDER_PREFIX):
            # Components and explicit provider resources: nothing to apply, recorded as they are.
            entry.inputs = state_mod.to_json(inputs)
            entry.outputs = state_mod.to_json(inputs)
            entry.id = old.id if old else (f"{args.name}-id" if reg.custom else "")
            kind = "same" if old is not None and old.inputs == entry.inputs else ("create" if old is None else "update")
            self._done(kind, entry, 0.0)
            return entry.id, inputs
        if self._slots is not None:
            self._slots.acquire()
        try:
            started = time.monotonic()
            package = package_of(args.typ)
            if args.typ.startswith(DYNAMIC_PREFIX):
                kind, ident, outputs = self._provider_step(self.host(), urn, args, reg, inputs, old, entry)
            elif package is not None:
                kind, ident, outputs = self._provider_step(self._plugin(package), urn, args, reg, inputs, old,
                                                           entry)
            else:
                kind, ident, outputs = self._gcp(urn, args, reg, inputs, old, entry)
            entry.id, entry.outputs = ident, state_mod.to_json(outputs)
            self._done(kind, entry, time.monotonic() - started)
            return ident, outputs
        finally:
            if self._slots is not None:
                self._slots.release()

    def _done(self, kind: str, entry: ResourceState, seconds: float) -> None:
        self._record(kind, entry.urn)
        if not self.preview:
            with self._lock:
                self.state.resources[entry.urn] = entry
        self.display.step(kind, entry.type, entry.name, preview=self.preview, seconds=seconds, urn=entry.urn)

    # ------------------------------------------------------------------ providers
    def host(self) -> DynamicProviderHost:
        with self._host_lock:
            if self._host is None:
                if not self._host_path:
                    self._host_path = [str(self.project.directory)] + [
                        p for p in sys.path if p and p not in self._baseline_path and os.path.isdir(p)]
                paths = [*self._host_path, *filter(None, self.env.get("PYTHONPATH", "").split(os.pathsep))]
                env = {**self.env, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
                self._host = DynamicProviderHost(self.project.name, env=env, python=self.python,
                                                 cwd=str(self.project.directory)).start(self.config)
            return self._host

    def _plugin(self, package: str) -> ProviderPlugin:
        try:
            return self.plugins.get(package)
        except PluginError as exc:
            raise StepError(str(exc)) from None

    def _stop_host(self) -> None:
        with self._host_lock:
            if self._host is not None:
                self._host.stop()
                self._host = None
        self.plugins.stop()

    def _provider_step(self, host: ProviderPlugin, urn: str, args, reg: _Registration, inputs: dict,
                       old: ResourceState | None, entry: ResourceState):
        """Check, Diff and Create/Update/replace on a provider process, as the engine plans a resource."""
        dynamic = isinstance(host, DynamicProviderHost)
        if dynamic:
            provider = inputs.get(PROVIDER_KEY)
            entry.provider = provider if isinstance(provider, str) else (old.provider if old else None)
        olds_in = old.inputs if old else {}
        checked = host.check(urn, olds_in, inputs)
        if checked.failures:
            raise CheckFailed(args.name, args.typ, checked.failures)
        news = checked.inputs
        entry.inputs = state_mod.to_json(_known(news))
        old_outputs = {**(old.outputs if old else {}), PROVIDER_KEY: old.provider} if old and old.provider else (
            old.outputs if old else {})
        dbr = reg.delete_before_replace
        if old is None:
            kind = "create"
        else:
            diff = host.diff(urn, old.id, old_outputs, news, old_inputs=old.inputs,
                             ignore_changes=reg.ignore_changes)
            changed = _changed_keys(old.inputs, news, reg.ignore_changes)
            if diff.replaces:
                kind, dbr = "replace", dbr or diff.delete_before_replace
            elif diff.changes == provider_pb2.DiffResponse.DIFF_SOME:
                kind = "update"
            elif diff.changes == provider_pb2.DiffResponse.DIFF_NONE:
                kind = "same"
            else:
                kind = "update" if changed else "same"
            if kind == "update" and ("*" in reg.replace_on_changes or changed & set(reg.replace_on_changes)):
                kind = "replace"
            if kind == "replace" and old.protect and reg.protect:
                raise StepError(protected_replace_message(urn))
        if self.preview:
            if kind == "same":
                return kind, old.id, old.outputs
            return kind, (old.id if old and kind == "update" else ""), _known(news)
        if kind == "same":
            entry.provider = entry.provider or old.provider
            return kind, old.id, old.outputs
        self.display.begin(urn, kind, args.typ, args.name)
        timeouts = reg.custom_timeouts
        if kind == "update":
            return kind, old.id, host.update(urn, old.id, old_outputs, news, old_inputs=old.inputs,
                                             custom_timeout=timeouts.get("update"),
                                             ignore_changes=reg.ignore_changes)
        if kind == "replace" and dbr:
            host.delete(urn, old.id, old_outputs, old_inputs=old.inputs,
                        custom_timeout=old.custom_timeouts.get("delete"))
            with self._lock:
                self.state.resources.pop(urn, None)
        ident, outputs = host.create(urn, news, custom_timeout=timeouts.get("create"))
        if kind == "replace" and not dbr:
            host.delete(urn, old.id, old_outputs, old_inputs=old.inputs,
                        custom_timeout=old.custom_timeouts.get("delete"))
        return kind, ident, outputs

    # ------------------------------------------------------------------ pulumi-gcp resources
    def _gcp(self, urn: str, args, reg: _Registration, inputs: dict, old: ResourceState | None,
             entry: ResourceState):
        applier = self.cloud.applier(args.typ)
        unknown = _has_unknown(inputs)
        if not unknown:
            try:
                inputs = applier.check(args.name, inputs)
            except CloudError as exc:
                prop, _, reason = str(exc).partition(": ")
                raise CheckFailed(args.name, args.typ, [(prop, reason or str(exc))]) from None
        stored = state_mod.to_json(_known(inputs))
        entry.inputs = stored
        if old is None:
            kind = "create"
        else:
            changed = _changed_keys(old.inputs, state_mod.to_json(inputs), reg.ignore_changes)
            if not changed:
                kind = "same"
            elif (applier.replace_keys is None or changed & applier.replace_keys
                  or "*" in reg.replace_on_changes or changed & set(reg.replace_on_changes)):
                kind = "replace"
            else:
                kind = "update"
            if kind == "replace" and old.protect and reg.protect:
                raise StepError(protected_replace_message(urn))
            if kind != "same" and reg.ignore_changes:
                entry.inputs = {**stored, **{k: old.inputs[k] for k in reg.ignore_changes if k in old.inputs}}
        if self.preview:
            if kind == "same":
                return kind, old.id, old.outputs
            if unknown:
                return kind, "", _known(inputs)
            return kind, (old.id if old and kind == "update" else ""), applier.preview_outputs(args.name, inputs)
        if kind == "same":
            return kind, old.id, old.outputs
        if kind == "update":
            return kind, old.id, applier.update(old, stored)
        dbr = reg.delete_before_replace or applier.delete_before_replace
        if kind == "replace" and dbr:
            applier.delete(old)
            with self._lock:
                self.state.resources.pop(urn, None)
        ident, outputs = applier.create(args.name, stored)
        if kind == "replace" and not dbr:
            applier.delete(old)
        return kind, ident, outputs

    # ------------------------------------------------------------------ deletes
    def _delete_all(self, resources: list[ResourceState]) -> None:
        """Delete ``resources`` (given in dependency order) dependents first.

        A failed delete keeps the resource (and everything it depends on) in
        the state, and the run fails with the reason.
        """
        blocked: set[str] = set()
        for res in reversed(resources):
            if res.urn in blocked:
                blocked.update(res.dependencies)
                blocked.add(res.parent)
                continue
            started = time.monotonic()
            note = None
            try:
                if res.protect:
                    raise StepError(protected_delete_message(res.urn))
                if res.retain_on_delete:
                    kind = "retain"
                    note = "retain_on_delete: left in place"
                elif not res.custom or res.type.startswith(PROVIDER_PREFIX):
                    kind = "delete"
                elif res.type.startswith(DYNAMIC_PREFIX) or package_of(res.type):
                    kind = "delete"
                    outputs = dict(res.outputs)
                    if res.provider:
                        outputs[PROVIDER_KEY] = res.provider
                    provider = self.host() if res.type.startswith(DYNAMIC_PREFIX) else self._plugin(
                        package_of(res.type))
                    self.display.begin(res.urn, "delete", res.type, res.name)
                    provider.delete(res.urn, res.id, outputs, old_inputs=res.inputs,
                                    custom_timeout=res.custom_timeouts.get("delete"))
                else:
                    kind = "delete"
                    note = self.cloud.applier(res.type).delete(res)
            except StepError as exc:
                self._fail(str(exc), res.urn)
                self.display.failed(res.type, res.name, str(exc), urn=res.urn)
                blocked.update(res.dependencies)
                blocked.add(res.parent)
                continue
            except (HostError, CloudError, UnsupportedError) as exc:
                detail = provider_message(exc.details) if isinstance(exc, HostError) else str(exc)
                message = f"{res.name} ({res.type}): delete failed: {detail}"
                self._fail(message, res.urn)
                self.display.failed(res.type, res.name, message, urn=res.urn)
                blocked.update(res.dependencies)
                blocked.add(res.parent)
                continue
            with self._lock:
                self.state.resources.pop(res.urn, None)
            self._record(kind, res.urn)
            self.display.step(kind, res.type, res.name, preview=False, seconds=time.monotonic() - started, note=note,
                              urn=res.urn)


def open_project(directory: str | os.PathLike, stack: str, config_file: str | os.PathLike | None = None,
                 *, require_program: bool = True) -> tuple[Project, dict[str, str]]:
    from .program import load_config
    project = Project.load(directory, require_program=require_program)
    return project, load_config(project, stack, config_file)


def run(command: str, directory: str | os.PathLike = ".", *, stack: str = "dev",
        config_file: str | os.PathLike | None = None, parallel: int | None = None,
        env: Mapping[str, str] | None = None, display: Display | None = None,
        on_engine: Callable[[Engine], None] | None = None) -> Result:
    """``pulumi-offline COMMAND`` as a function: ``preview``, ``up`` or ``destroy``.

    ``on_engine`` is handed the engine before it runs (the CLI wires Ctrl-C to :meth:`Engine.cancel`).
    """
    project, config = open_project(directory, stack, config_file, require_program=command != "destroy")
    engine = Engine(project, stack, config, env=env, parallel=parallel, display=display)
    if on_engine is not None:
        on_engine(engine)
    if command == "preview":
        return engine.run_preview()
    if command == "up":
        return engine.run_up()
    if command == "destroy":
        return engine.run_destroy()
    raise ValueError(f"unknown command {command!r}")


__all__ = ["Engine", "Result", "run", "open_project", "CheckFailed", "StepError"]
