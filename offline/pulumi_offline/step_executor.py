"""When steps run: each registration once what it depends on is done, then the deletes.

Why: the SDK registers resources on many threads at once; the engine starts
a resource's step only when the resources it depends on have finished, at
most ``--parallel`` at a time, starts none after a failure or Ctrl-C (the
rest are skipped, those in flight finish), and deletes dependents before
what they depend on (``pkg/resource/deploy/step_executor.go``,
``deployment_executor.go``). Deciding a step is :mod:`.step_generator`'s
job, applying it :mod:`.step`'s; what happened goes to the :class:`Journal`.
Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

from pulumi.runtime import mocks as sdk_mocks

from .display import Display
from .gcp import CloudError
from .host import HostError
from .journal import Journal
from .messages import Skipped, StepError, UnsupportedError, protected_delete_message, provider_message
from .providers import PROVIDER_PREFIX, Providers
from .registration import Registration
from .state import ResourceState, plain, to_json
from .step import apply
from .step_generator import generate, new_entry, record_only


class StepExecutor:
    """The steps of one run; ``preview`` only plans them, ``cancelled`` starts no new one."""

    def __init__(self, journal: Journal, providers: Providers, display: Display, *,
                 parallel: int | None = None) -> None:
        self.journal, self.providers, self.display = journal, providers, display
        self.preview = False
        self.cancelled = False
        self._slots = threading.BoundedSemaphore(parallel) if parallel else None
        self._cond = threading.Condition()
        self._events: dict[str, threading.Event] = {}  # set when the resource's step is over
        self._inflight = 0
        #: URNs the program registered in this run (the saved ones not among them are deleted)
        self.registered: set[str] = set()

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
                self.journal.fail(str(exc), urn)
                self.display.failed(args.typ, args.name, str(exc), urn=urn)
            else:
                self.journal.skip(urn)
            raise
        except (UnsupportedError, CloudError, HostError) as exc:
            detail = f"{exc.method} failed: {provider_message(exc.details)}" if isinstance(exc, HostError) else exc
            message = f"{args.name} ({args.typ}): {detail}"
            self.journal.fail(message, urn)
            self.display.failed(args.typ, args.name, message, urn=urn)
            raise StepError(message) from None
        except Exception as exc:  # noqa: BLE001 an engine bug: keep the trace
            message = f"{args.name} ({args.typ}): internal error: {exc!r}\n{traceback.format_exc()}"
            self.journal.fail(message, urn)
            self.display.failed(args.typ, args.name, message, urn=urn)
            raise
        finally:
            event.set()
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()

    def _register(self, urn: str, reg: Registration, args: sdk_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        for dep in [*reg.dependencies, reg.parent]:
            dep_event = self._events.get(dep)
            if dep_event is not None:
                dep_event.wait()
            if self.journal.failed(dep):
                raise Skipped(f"{args.name}: not applied, dependency {dep} failed")
        if self.journal.errors:
            raise Skipped(f"{args.name}: not applied, an earlier step failed")
        if self.cancelled:
            raise Skipped(f"{args.name}: not applied, the update was cancelled")
        inputs = plain(dict(args.inputs))
        old = self.journal.old.resources.get(urn)
        if old is not None and old.type != args.typ:
            old = None  # a different resource under the same name: created anew
        entry = new_entry(urn, args.typ, reg)
        if not reg.custom or args.typ.startswith(PROVIDER_PREFIX):
            self._done(record_only(entry, inputs, old, args.name), entry, 0.0)
            return entry.id, inputs
        if self._slots is not None:
            self._slots.acquire()
        try:
            started = time.monotonic()
            provider = self.providers.for_type(args.typ)
            step = generate(provider, reg, args.name, entry, inputs, old)
            ident, outputs = apply(step, preview=self.preview, display=self.display, journal=self.journal)
            entry.id, entry.outputs = ident, to_json(outputs)
            self._done(step.kind, entry, time.monotonic() - started)
            return ident, outputs
        finally:
            if self._slots is not None:
                self._slots.release()

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
    def delete(self, resources: list[ResourceState]) -> None:
        """Delete ``resources`` (given in dependency order) dependents first; a preview lists them.

        A failed delete keeps the resource (and everything it depends on) in
        the state, and the run fails with the reason.
        """
        if self.preview:
            for res in reversed(resources):
                kind = "retain" if res.retain_on_delete else "delete"
                self.journal.record(kind, res.urn)
                self.display.step(kind, res.type, res.name, preview=True)
            return
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
                kind = "retain" if res.retain_on_delete else "delete"
                if res.retain_on_delete:
                    note = "retain_on_delete: left in place"
                elif res.custom and not res.type.startswith(PROVIDER_PREFIX):
                    provider = self.providers.for_type(res.type)
                    if provider.shows_row:
                        self.display.begin(res.urn, "delete", res.type, res.name)
                    note = provider.delete(res)
            except StepError as exc:
                self._delete_failed(res, str(exc), blocked)
                continue
            except (HostError, CloudError, UnsupportedError) as exc:
                detail = provider_message(exc.details) if isinstance(exc, HostError) else str(exc)
                self._delete_failed(res, f"{res.name} ({res.type}): delete failed: {detail}", blocked)
                continue
            self.journal.drop(res.urn)
            self.journal.record(kind, res.urn)
            self.display.step(kind, res.type, res.name, preview=False, seconds=time.monotonic() - started, note=note,
                              urn=res.urn)

    def _delete_failed(self, res: ResourceState, message: str, blocked: set[str]) -> None:
        """``res`` stays, and so does everything it depends on."""
        self.journal.fail(message, res.urn)
        self.display.failed(res.type, res.name, message, urn=res.urn)
        blocked.update(res.dependencies)
        blocked.add(res.parent)
