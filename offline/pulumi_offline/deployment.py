"""One run of one stack: ``preview``, ``up`` or ``destroy``, from loading the state to saving it.

Why: the run loop is what a user sees end to end (the real engine's
``pkg/resource/deploy/deployment_executor.go``, ``Execute``): run the program
under the SDK's mocks (each registration a step of the
:class:`StepExecutor`, invokes to the providers), delete what the program no
longer registers, stop the providers, save, print the summary. After a
failure or Ctrl-C (:meth:`Engine.cancel` also sends ``Cancel`` to every
provider process) no new step starts, the steps in flight finish, and the
state keeps what succeeded. Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Mapping

from pulumi.runtime import mocks as sdk_mocks

from .display import Display
from .gcp import CloudError
from .journal import Journal
from .messages import CANCELLED, UnsupportedError
from .program import Project, program_error_message, run_program
from .providers import Providers
from .registration import ResourceMonitor
from .state import plain, to_json
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
        self.journal = Journal(project.directory, stack, project.name)
        self.providers = Providers(project, stack, self.config, env=self.env, python=python, sink=self._on_log)
        self.executor = StepExecutor(self.journal, self.providers, self.display, parallel=self.parallel)
        self._monitor: ResourceMonitor | None = None

    # ------------------------------------------------------------------ public
    @property
    def cancelled(self) -> bool:
        return self.executor.cancelled

    def cancel(self) -> None:
        """Ctrl-C: start no new step and send ``Cancel`` to every provider process of the run."""
        self.executor.cancelled = True
        self.providers.cancel()

    def run_preview(self) -> Result:
        return self._run(preview=True)

    def run_up(self) -> Result:
        return self._run(preview=False)

    def run_destroy(self) -> Result:
        start = time.monotonic()
        self.display.header("Destroying", self.project.name, self.stack)
        self.journal.load(keep_outputs=False)
        self.providers.host_path = list(self.journal.old.meta.get("host_pythonpath", []))
        try:
            self.executor.delete(self.journal.old_in_order())
        finally:
            self.providers.stop()
            self._save()
        return self._finish(False, start, {})

    # ------------------------------------------------------------------ the run
    def _run(self, preview: bool) -> Result:
        start = time.monotonic()
        self.executor.preview = preview
        self.display.header("Previewing update" if preview else "Updating", self.project.name, self.stack)
        self.journal.load(keep_outputs=True)
        errors = self.journal.errors
        outputs: dict[str, Any] = {}
        program_ok = False
        try:
            try:
                self._monitor = ResourceMonitor(self, project=self.project.name, stack=self.stack,
                                                refuse=self.journal.fail)
                outputs = run_program(self.project, self.stack, self.config, mocks=self, monitor=self._monitor,
                                      preview=preview, after=self.executor.wait_inflight) or {}
                program_ok = not errors
            except BaseException as exc:  # noqa: BLE001 reported, never a stack trace for engine errors
                if self.cancelled and not errors:
                    self.journal.fail(CANCELLED)  # the skipped registrations failed the program
                reported = program_error_message(exc, self.project, self.stack)
                if reported and not errors:
                    self.journal.fail(reported)
                elif not errors:
                    self.journal.fail("the program failed:\n" + "".join(
                        traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
            if program_ok:
                self.executor.delete(to_delete(self.journal.old, self.executor.registered))
        finally:
            self.providers.stop()
            if not preview:
                if program_ok and not errors:
                    self.journal.state.outputs = to_json(outputs)
                self._save()
        return self._finish(preview, start, outputs if program_ok else {})

    def _finish(self, preview: bool, start: float, outputs: dict[str, Any]) -> Result:
        errors = self.journal.errors
        if self.cancelled and not errors:
            self.journal.fail(CANCELLED)
        counts = self.journal.counts()
        seconds = time.monotonic() - start
        self.display.summary(counts, preview=preview, seconds=seconds, outputs=outputs, errors=errors)
        return Result(not errors, counts, list(self.journal.steps), outputs, list(errors), seconds)

    def _save(self) -> None:
        self.journal.save(self.providers.host_path)

    def _on_log(self, urn: str, severity: int, message: str, ephemeral: bool) -> None:
        """A provider's ``Log`` call: ephemeral status into the resource's row, the rest kept."""
        from pulumi.runtime.proto import engine_pb2
        if ephemeral:
            self.display.status(urn, message)
        elif severity != engine_pb2.DEBUG:
            word = {engine_pb2.WARNING: "warning", engine_pb2.ERROR: "error"}.get(severity, "info")
            self.display.diagnostic(urn, word, message)

    # ------------------------------------------------------------------ the SDK's mocks
    def call(self, args: sdk_mocks.MockCallArgs):
        try:
            return self.providers.invoke(args.token, plain(args.args)), []
        except (UnsupportedError, CloudError) as exc:
            self.journal.fail(str(exc))
            raise

    def new_resource(self, args: sdk_mocks.MockResourceArgs):
        return self.executor.register(self._monitor.take(), args)
