"""When steps run: each registration once what it depends on is done, then the deletes.

Why: the engine runs a resource's step only when the resources it depends
on have finished, on one of ``--parallel`` workers, so a step that waits
(a long Create) holds its worker until it ends (``pkg/resource/deploy/
step_executor.go``, ``newStepExecutor``, ``executeChain``); it decides
steps one at a time (``Check`` and ``Diff`` run in the step generator, on
the deployment executor's one event loop: ``deployment_executor.go``
``Execute``), so they are serial and hold no worker; it starts no step after
a failure or Ctrl-C (the rest are skipped, those running finish). The
deletes run last, in antichains (``step_generator.go`` ``ScheduleDeletes``):
resources nothing left depends on first, each antichain in parallel; after a
failed delete the resources it depends on are kept, and a failure other
than a protect refusal stops the deletes (``deployment_executor.go``
``performPostSteps``, ``step_executor.go`` ``cancelDueToError``).
Deciding a step is :mod:`.step_generator`'s job, applying it :mod:`.step`'s;
what happened goes to the :class:`Journal`. Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pulumi.runtime import mocks as sdk_mocks

from .display import Display
from .gcp import CloudError
from .host import HostError
from .journal import Journal
from .messages import (Skipped, StepError, UnsupportedError, import_missing, import_unsupported,
                       protected_delete_message)
from .plugins import package_of
from .providers import PROVIDER_PREFIX, LocalGcpProvider, ProcessProvider, Providers
from .registration import Registration
from .state import ResourceState, secret_outputs_of_secret_inputs, to_json
from .step import RUNNING_OPERATION, apply
from .step_generator import generate, new_entry, record_only


class StepExecutor:
    """The steps of one run; ``preview`` only plans them, ``cancelled`` starts no new one."""

    def __init__(self, journal: Journal, providers: Providers, display: Display, *, parallel: int,
                 preview: bool = False) -> None:
        self.journal, self.providers, self.display = journal, providers, display
        self.preview = preview
        self.cancelled = False
        self.parallel = max(1, parallel)
        self._slots = threading.BoundedSemaphore(self.parallel)
        self._generator = threading.Lock()  # the step generator decides one step at a time
        self._cond = threading.Condition()
        self._events: dict[str, threading.Event] = {}  # set when the resource's step is over
        self._inflight = 0
        #: URNs the program registered in this run (the saved ones not among them are deleted)
        self.registered: set[str] = set()

    def diagnose(self, urn: str, severity: str, message: str) -> None:
        self.display.diagnostic(urn, severity, message)

    # ------------------------------------------------------------------ registrations
    def register(self, reg: Registration, args: sdk_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """The step of one registration, run on the SDK's registering thread; its id and outputs."""
        urn = reg.urn
        with self._cond:
            self._inflight += 1
            self.registered.add(urn)
            event = self._events.setdefault(urn, threading.Event())
        try:
            return self._register(urn, reg, args)
        except StepError as exc:
            if not isinstance(exc, Skipped):
                self._failed(urn, args.typ, args.name, *exc.lines)
            else:
                self.journal.skip(urn)
            raise
        except (UnsupportedError, CloudError, HostError) as exc:
            message = exc.details if isinstance(exc, HostError) else str(exc)
            self._failed(urn, args.typ, args.name, message)
            raise StepError(message) from None
        except Exception as exc:  # noqa: BLE001 an engine bug: keep the trace
            message = f"internal error: {exc!r}\n{traceback.format_exc()}"
            self._failed(urn, args.typ, args.name, message)
            raise
        finally:
            event.set()
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()

    def fail_step(self, res: ResourceState, message: str) -> None:
        """A step on a saved resource (a refresh) failed."""
        self._failed(res.urn, res.type, res.name, message)

    def _failed(self, urn: str, type_: str, name: str, *messages: str) -> None:
        """A step failed: the engine shows each error under the resource (``OnResourceStepPost``)."""
        self.journal.fail(f"{type_} ({name}): " + "\n".join(messages), urn)
        self.display.failed(type_, name, urn=urn)
        for message in messages:
            self.display.diagnostic(urn, "error", message)

    def _may_start(self, name: str) -> None:
        if self.journal.errors:
            raise Skipped(f"{name}: not applied, an earlier step failed")
        if self.cancelled:
            raise Skipped(f"{name}: not applied, the update was cancelled")

    def _register(self, urn: str, reg: Registration, args: sdk_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        for dep in [*reg.dependencies, reg.parent]:
            dep_event = self._events.get(dep)
            if dep_event is not None:
                dep_event.wait()
            if self.journal.failed(dep):
                raise Skipped(f"{args.name}: not applied, dependency {dep} failed")
        self._may_start(args.name)
        if reg.provider and reg.custom:
            raise UnsupportedError(f"explicit provider resources are not modelled by pulumi-offline "
                                   f"({args.name} names provider {reg.provider})")
        inputs = dict(args.inputs)
        old = self.journal.old.resources.get(urn)
        if old is not None and old.type != args.typ:
            old = None  # a different resource under the same name: created anew
        entry = new_entry(urn, args.typ, reg)
        if not reg.custom or args.typ.startswith(PROVIDER_PREFIX):
            with self._slots:
                self._done(record_only(entry, inputs, old, args.name), entry, 0.0)
            return entry.id, inputs
        with self._generator:
            provider = self.providers.for_type(args.typ)
        imported = False
        if reg.import_id and (old is None or (old.import_id or old.id) != reg.import_id):
            replaced, old, imported = old, self._import(provider, reg, args.name, entry), True
            if replaced is not None and not self.preview:
                self.journal.pend_delete(replaced)  # ImportReplacementStep: the old copy goes at the end
        with self._generator:
            self._may_start(args.name)
            step = generate(provider, reg, args.name, entry, inputs, old, preview=self.preview,
                            diagnose=self.diagnose, imported=imported)
        with self._slots:
            self._may_start(args.name)
            started = time.monotonic()
            ident, outputs = apply(step, preview=self.preview, display=self.display, journal=self.journal)
            outputs = secret_outputs_of_secret_inputs(dict(outputs), inputs)
            entry.id, entry.outputs = ident, to_json(outputs)
            if imported and step.kind == "same":
                return entry.id, outputs  # the import was the step (recorded by _import)
            self._done(step.kind, entry, time.monotonic() - started)
            return ident, outputs

    def _import(self, provider: ProcessProvider | LocalGcpProvider, reg: Registration, name: str,
                entry: ResourceState) -> ResourceState:
        """``ImportStep.Apply``: ``Read`` with the id alone; the resource as read becomes the old state."""
        if isinstance(provider, LocalGcpProvider):
            raise UnsupportedError(f"importing a {entry.type} is not modelled by pulumi-offline")
        with self._slots:
            self._may_start(name)
            started = time.monotonic()
            if not self.preview:
                self.journal.begin(entry.urn, entry.type, RUNNING_OPERATION["import"])
            try:
                read = provider.plugin.read(entry.urn, reg.import_id, None, None)
            finally:
                self.journal.end(entry.urn)
            if not read.id:
                raise StepError(import_missing(reg.import_id))
            if read.inputs is None:
                raise StepError(import_unsupported(package_of(entry.type) or entry.type.split(":")[0]))
            imported = ResourceState(urn=entry.urn, type=entry.type, id=read.id or reg.import_id,
                                     inputs=to_json(read.inputs), outputs=to_json(read.outputs),
                                     dependencies=entry.dependencies, parent=entry.parent, protect=entry.protect,
                                     retain_on_delete=entry.retain_on_delete, import_id=reg.import_id,
                                     provider_ref=provider.ref, ignore_changes=list(reg.ignore_changes),
                                     custom_timeouts=entry.custom_timeouts)
            self._done("import", imported, time.monotonic() - started)
            return imported

    def _done(self, kind: str, entry: ResourceState, seconds: float) -> None:
        self.journal.record(kind, entry.urn)
        if not self.preview:
            self.journal.put(entry)
        self.display.step(kind, entry.type, entry.name, preview=self.preview, seconds=seconds, urn=entry.urn)

    def wait_inflight(self) -> None:
        """Wait until no registration's step is running (after a failure some still are)."""
        with self._cond:
            self._cond.wait_for(lambda: self._inflight == 0)

    # ------------------------------------------------------------------ deletes
    def delete(self, resources: list[ResourceState], saved: list[ResourceState] | None = None) -> None:
        """Delete ``resources`` (removed from the program, or replaced copies) in antichains
        (``saved``: the state's resources in order)."""
        saved = saved if saved is not None else resources
        graph = _Graph(saved)
        failed: set[str] = set()  # resources whose delete failed, and what they depend on
        for antichain in schedule_deletes(resources, saved):
            if self.cancelled:
                return
            chain = [res for res in antichain if res.urn not in failed]
            stop = False
            with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="offline-delete") as pool:
                for res, error in zip(chain, pool.map(self._delete_one, chain)):
                    if error is None:
                        continue
                    failed.update(_depends_on(res, resources, graph))
                    stop = stop or not error.startswith("protect")
            if stop:
                return  # a failed delete (not a protect refusal) cancels the rest: the run fails

    def _delete_one(self, res: ResourceState) -> str | None:
        """One ``DeleteStep``; ``None`` when it is done, else what kind of failure (``protect``...)."""
        started = time.monotonic()
        note = None
        kind = "retain" if res.retain_on_delete else "delete"
        try:
            if res.protect and not res.delete:
                raise StepError(protected_delete_message(res.urn))
            if self.preview:
                if not res.delete:
                    self.journal.record(kind, res.urn)
                    self.display.step(kind, res.type, res.name, preview=True)
                return None
            if res.retain_on_delete:
                note = "retain_on_delete: left in place"
            elif res.custom and not res.type.startswith(PROVIDER_PREFIX):
                with self._slots:
                    provider = self.providers.for_state(res)
                    if provider.shows_row:
                        self.display.begin(res.urn, "delete", res.type, res.name)
                    self.journal.begin(res.urn, res.type, RUNNING_OPERATION["delete"])
                    try:
                        note = provider.delete(res)
                    finally:
                        self.journal.end(res.urn)
        except StepError as exc:
            self._failed(res.urn, res.type, res.name, *exc.lines)
            return "protect" if res.protect else "error"
        except (HostError, CloudError, UnsupportedError) as exc:
            self._failed(res.urn, res.type, res.name, exc.details if isinstance(exc, HostError) else str(exc))
            return "error"
        self.journal.deleted(res)
        if res.delete:  # the end of a replace, not a step of its own (DeleteStep.Logical is false)
            self.display.step("same", res.type, res.name, preview=False, urn=res.urn)
            return None
        self.journal.record(kind, res.urn)
        self.display.step(kind, res.type, res.name, preview=False, seconds=time.monotonic() - started, note=note,
                          urn=res.urn)
        return None


class _Graph:
    """What each resource depends on for deleting, as ``graph.DependencyGraph.DependenciesOf`` reads
    it: its provider, its dependencies (a component standing for its children saved before the
    resource), and its parent. ``resources``: the state's resources in their saved order."""

    def __init__(self, resources: list[ResourceState]) -> None:
        self._index = {r.urn: i for i, r in enumerate(resources)}
        self._components = {r.urn for r in resources if not r.custom}
        self._children: dict[str, list[str]] = {}
        for res in resources:
            if res.parent:
                self._children.setdefault(res.parent, []).append(res.urn)

    def _descendants(self, urn: str) -> list[str]:
        found, todo = [], list(self._children.get(urn, []))
        while todo:
            child = todo.pop()
            found.append(child)
            todo.extend(self._children.get(child, []))
        return found

    def dependencies(self, res: ResourceState) -> set[str]:
        found = {u for u in (res.provider_urn, *res.dependencies, res.parent) if u}
        here = self._index.get(res.urn, len(self._index))
        for dep in res.dependencies:
            if dep in self._components:
                found.update(c for c in self._descendants(dep) if self._index.get(c, here) < here)
        return found


def schedule_deletes(resources: list[ResourceState], saved: list[ResourceState] | None = None
                     ) -> list[list[ResourceState]]:
    """``ScheduleDeletes``: antichains of ``resources``, each runnable in parallel, dependents first
    (``saved``: the state's resources in order, for what a component dependency stands for)."""
    graph = _Graph(saved if saved is not None else resources)
    condemned = list(resources)
    chains: list[list[ResourceState]] = []
    while condemned:
        left = {r.urn for r in condemned}
        chain = [r for r in condemned if not (graph.dependencies(r) & (left - {r.urn}))]
        if not chain:  # a cycle cannot happen in a saved state; never loop forever
            chain = list(condemned)
        chains.append(chain)
        ids = {id(r) for r in chain}
        condemned = [r for r in condemned if id(r) not in ids]
    chains.reverse()
    return chains


def _depends_on(res: ResourceState, resources: list[ResourceState], graph: _Graph) -> set[str]:
    """``res`` and every resource of ``resources`` it depends on, transitively."""
    by_urn = {r.urn: r for r in resources if not r.delete}
    found, todo = set(), [res]
    while todo:
        current = todo.pop()
        if current.urn in found:
            continue
        found.add(current.urn)
        todo.extend(by_urn[u] for u in graph.dependencies(current) if u in by_urn and u not in found)
    return found


__all__ = ["StepExecutor", "schedule_deletes"]
