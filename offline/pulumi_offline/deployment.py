"""One run of one stack: ``preview``, ``up`` or ``destroy``, from loading the state to saving it.

Why: the run loop is what a user sees end to end (the real engine's
``pkg/resource/deploy/deployment_executor.go``, ``Execute``): run the program
under the SDK's mocks (each registration a step of the
:class:`StepExecutor`, invokes to the providers), delete what the program no
longer registers and the replaced copies, stop the providers, save, print
the summary with the run's outcome (``update failed``, ``update canceled``:
``reportExecResult``). Ctrl-C (:meth:`Engine.cancel`) sends ``Cancel`` to
every provider and starts no new step; the steps running finish, each one
saved as it ends. A second Ctrl-C (:meth:`Engine.terminate`) stops saving
and kills the providers (``pkg/backend/cancellation_scope.go``). An update
warns about the operations a terminated run left pending
(``printPendingOperationsWarning``). ``up`` runs a preview first:
:func:`pulumi_offline.engine.run`. Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Mapping

from pulumi.runtime import mocks as sdk_mocks

from .display import Display
from .gcp import CloudError
from .journal import Journal
from .messages import ERROR, INFO, WARNING, UnsupportedError, pending_operations, run_result
from .program import Project, program_error_message, run_program
from .providers import Providers, is_default_provider
from .registration import ResourceMonitor
from .state import ResourceState, plain, to_json
from .step_executor import StepExecutor
from .step_generator import to_delete


@dataclass
class Result:
    ok: bool
    counts: dict[str, int] = field(default_factory=dict)
    steps: list[tuple[str, str]] = field(default_factory=list)  # (kind, urn)
    outputs: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False


class Engine(sdk_mocks.Mocks):
    """One run of one stack. ``env`` points at the local stack (defaults to ``os.environ``)."""

    def __init__(self, project: Project, stack: str, config: Mapping[str, str], *,
                 env: Mapping[str, str] | None = None, parallel: int = 1, preview: bool = False,
                 display: Display | None = None, python: str = sys.executable) -> None:
        self.project = project
        self.stack = stack
        self.config = dict(config)
        self.env = {**os.environ, **(env or {})}
        self.preview = preview
        self.display = display or Display()
        self.python = python
        self.providers = Providers(project, stack, self.config, env=self.env, python=python, sink=self._on_log,
                                   old=self._old_provider, record=self._record_provider,
                                   warn=lambda text: self.display.diagnostic("", WARNING, text), preview=preview,
                                   diagnose=lambda severity, text, stream: self.display.diagnostic(
                                       "", severity, text, stream))
        self.journal = Journal(project.directory, stack, project.name, writes=not preview,
                               meta=lambda: self.providers.host_path)
        self.executor = StepExecutor(self.journal, self.providers, self.display, parallel=parallel, preview=preview)
        self._monitor: ResourceMonitor | None = None
        self._cancel_lock = threading.Lock()

    # ------------------------------------------------------------------ public
    @property
    def cancelled(self) -> bool:
        return self.executor.cancelled

    def cancel(self) -> None:
        """Ctrl-C: start no new step and send ``Cancel`` to every provider process of the run."""
        with self._cancel_lock:
            if self.executor.cancelled:
                return
            self.executor.cancelled = True
        self.providers.cancel()

    def terminate(self) -> None:
        """A second Ctrl-C: nothing more is saved (each finished step already was), providers killed."""
        self.executor.cancelled = True
        with self.journal.lock:
            self.journal.terminated = True
        self.providers.kill()

    def run_preview(self) -> Result:
        return self._run()

    def run_up(self) -> Result:
        return self._run()

    def run_destroy(self) -> Result:
        start = time.monotonic()
        self.display.header("Previewing destroy" if self.preview else "Destroying", self.project.name, self.stack)
        self.journal.load(keep_outputs=False)
        self.providers.host_path = list(self.journal.old.meta.get("host_pythonpath", []))
        try:
            resources = self.journal.old_in_order()
            self.executor.delete([r for r in resources if not is_default_provider(r)]
                                 + list(self.journal.old.pending_deletes), resources)
            self._forget_unused_providers(set())
        finally:
            self.providers.stop()
            self.journal.save()
        return self._finish(start, {})

    def run_refresh(self) -> Result:
        """``pulumi refresh`` (:mod:`.refresh`)."""
        from .refresh import refresh
        return self._without_program("Previewing refresh" if self.preview else "Refreshing", refresh)

    def run_import(self, type_: str, name: str, ident: str, *, protect: bool = True, parent: str = "") -> Result:
        """``pulumi import TYPE NAME ID`` (:mod:`.importer`)."""
        from .importer import import_resource
        return self._without_program("Previewing import" if self.preview else "Importing",
                                     lambda engine: import_resource(engine, type_, name, ident, protect=protect,
                                                                    parent=parent))

    def _without_program(self, action: str, body) -> Result:
        start = time.monotonic()
        self.display.header(action, self.project.name, self.stack)
        self.journal.load(keep_outputs=True)
        self.providers.host_path = list(self.journal.old.meta.get("host_pythonpath", []))
        try:
            body(self)
        finally:
            self.providers.stop()
            self.journal.save()
        return self._finish(start, {})

    # ------------------------------------------------------------------ the run
    def _run(self) -> Result:
        start = time.monotonic()
        preview = self.preview
        self.display.header("Previewing update" if preview else "Updating", self.project.name, self.stack)
        self.journal.load(keep_outputs=True)
        if not preview and self.journal.old.pending_operations:
            self.display.diagnostic("", "warning", pending_operations(
                [(op["urn"], op["kind"]) for op in self.journal.old.pending_operations]))
        errors = self.journal.errors
        outputs: dict[str, Any] = {}
        program_ok = False
        try:
            try:
                self._monitor = ResourceMonitor(self, project=self.project.name, stack=self.stack,
                                                refuse=self._refuse)
                outputs = run_program(self.project, self.stack, self.config, mocks=self, monitor=self._monitor,
                                      preview=preview, after=self.executor.wait_inflight) or {}
                program_ok = not errors and not self.cancelled
            except BaseException as exc:  # noqa: BLE001 reported, never a stack trace for engine errors
                reported = program_error_message(exc, self.project, self.stack)
                if errors or self.cancelled:
                    pass  # the failed or skipped registrations failed the program: reported already
                elif reported:
                    self._refuse(reported)
                else:
                    self._refuse("the program failed:\n" + "".join(
                        traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
            if program_ok:
                self.executor.delete(to_delete(self.journal.old, self.executor.registered,
                                               list(self.journal.state.pending_deletes)),
                                     self.journal.old_in_order())
                self._forget_unused_providers(self.executor.registered)
        finally:
            self.providers.stop()
            if not preview:
                if program_ok and not errors:
                    self.journal.state.outputs = to_json(outputs)
                self.journal.save()
        return self._finish(start, outputs if program_ok else {})

    def _forget_unused_providers(self, registered: set[str]) -> None:
        """Default providers no resource uses any more leave the state (the engine deletes them last,
        with no call to the plugin: ``registry.go`` ``Delete``)."""
        if self.preview:
            return
        with self.journal.lock:
            state = self.journal.state
            used = {r.provider_urn for r in [*state.resources.values(), *state.pending_deletes]}
            for res in list(state.resources.values()):
                if is_default_provider(res) and res.urn not in used and res.urn not in registered:
                    state.resources.pop(res.urn, None)

    def _finish(self, start: float, outputs: dict[str, Any]) -> Result:
        errors = self.journal.errors
        failed = bool(errors)
        if failed or self.cancelled:
            # reportExecResult: "update" for every run that is not a preview (destroy and refresh too)
            outcome = run_result("preview" if self.preview else "update", "failed" if failed else "canceled")
            self.display.diagnostic("", "error", outcome)
            errors.append(outcome)
        counts = self.journal.counts()
        seconds = time.monotonic() - start
        self.display.summary(counts, preview=self.preview, seconds=seconds, outputs=outputs)
        return Result(not errors, counts, list(self.journal.steps), outputs, list(errors), seconds,
                      cancelled=self.cancelled)

    def _refuse(self, message: str) -> None:
        """A failure of the run itself (not of one resource): shown under the stack."""
        self.journal.fail(message)
        self.display.diagnostic("", "error", message)

    # ------------------------------------------------------------------ providers
    def _old_provider(self, urn: str) -> ResourceState | None:
        return self.journal.old.resources.get(urn)

    def _record_provider(self, entry: ResourceState) -> None:
        """A default provider of this run: registered (kept), saved, never shown or counted."""
        self.executor.registered.add(entry.urn)
        if not self.preview:
            self.journal.put(entry)

    def _on_log(self, urn: str, severity: int, message: str, ephemeral: bool) -> None:
        """A provider's ``Log`` call: ephemeral status into the resource's row, the rest kept."""
        from pulumi.runtime.proto import engine_pb2
        if ephemeral:
            self.display.status(urn, message)
        elif severity != engine_pb2.DEBUG:
            # pkg/host/host_server.go Log: INFO, WARNING, ERROR as the diag severities of the same names
            word = {engine_pb2.WARNING: WARNING, engine_pb2.ERROR: ERROR}.get(severity, INFO)
            self.display.diagnostic(urn, word, message)

    # ------------------------------------------------------------------ the SDK's mocks
    def call(self, args: sdk_mocks.MockCallArgs):
        try:
            return self.providers.invoke(args.token, plain(args.args)), []
        except (UnsupportedError, CloudError) as exc:
            self._refuse(str(exc))
            raise

    def new_resource(self, args: sdk_mocks.MockResourceArgs):
        return self.executor.register(self._monitor.take(), args)
