"""One run's record: its steps, its errors and the stack's new state; the only writer of the state file.

Why: registrations on many threads, the deletes and the run loop all record
into one run, so every record goes through one lock here, and the state
file is written from here only. As the real engine's snapshot journal
(``pkg/engine/update.go`` ``OnResourceStepPre``/``OnResourceStepPost``,
``pkg/backend/snapshot.go``), the file is written after every step that
changes the state, and while a step runs it is listed as a pending
operation, so an engine killed half-way (a second Ctrl-C) leaves every
finished step saved and says which ones it left running. Once terminated,
nothing more is written. The new state starts as a copy of the old one and
a resource leaves it only when its delete succeeds, so a failed or
cancelled run keeps what it could not remove. The file's format:
:mod:`.state`. Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Callable

from . import state as state_mod
from .state import ResourceState, StackState


class Journal:
    """One run's record of ``stack`` of project ``project``, state kept under ``directory``.

    ``writes`` is false for a preview (nothing is saved); ``meta`` gives the
    engine metadata saved with the state (the dynamic host's ``PYTHONPATH``).
    """

    def __init__(self, directory: str | os.PathLike, stack: str, project: str, *, writes: bool = True,
                 meta: Callable[[], list[str]] = lambda: []) -> None:
        self._directory, self._stack, self._project = directory, stack, project
        self._writes, self._meta = writes, meta
        self.lock = threading.RLock()
        self.old = StackState()
        self.state = StackState()
        self.steps: list[tuple[str, str]] = []  # (kind, urn), in the order they finished
        self.errors: list[str] = []
        self._failed_urns: set[str] = set()
        self._running: dict[str, dict[str, str]] = {}
        self.terminated = False

    def load(self, *, keep_outputs: bool) -> None:
        """Read the saved state; the new state starts as its copy (stack outputs only with ``keep_outputs``)."""
        self.old = state_mod.load(self._directory, self._stack)
        self.state = StackState(dict(self.old.resources), dict(self.old.outputs) if keep_outputs else {},
                                dict(self.old.meta), list(self.old.pending_deletes),
                                list(self.old.pending_operations))

    def old_in_order(self) -> list[ResourceState]:
        """The saved resources, each after its dependencies and its parent."""
        return [self.old.resources[u] for u in state_mod.topological(self.old.resources.values())]

    # -- records ---------------------------------------------------------------
    def record(self, kind: str, urn: str) -> None:
        with self.lock:
            self.steps.append((kind, urn))

    def put(self, entry: ResourceState) -> None:
        with self.lock:
            self.state.resources[entry.urn] = entry
            self.checkpoint()

    def drop(self, urn: str) -> None:
        with self.lock:
            self.state.resources.pop(urn, None)
            self.checkpoint()

    def pend_delete(self, old: ResourceState) -> None:
        """A replaced copy: kept (``"delete": true``) until the deletes at the end of the run remove it."""
        with self.lock:
            old.delete = True
            self.state.pending_deletes.append(old)
            self.checkpoint()

    def deleted(self, res: ResourceState) -> None:
        """``res`` (a resource, or a replaced copy) is gone."""
        with self.lock:
            if res.delete:
                self.state.pending_deletes = [r for r in self.state.pending_deletes if r is not res
                                              and not (r.urn == res.urn and r.id == res.id)]
            else:
                self.state.resources.pop(res.urn, None)
            self.checkpoint()

    def begin(self, urn: str, type_: str, operation: str) -> None:
        """A step starts on ``urn``: a pending operation until :meth:`end`."""
        with self.lock:
            self._running[urn] = {"urn": urn, "type": type_, "kind": operation}
            self.checkpoint()

    def end(self, urn: str) -> None:
        with self.lock:
            self._running.pop(urn, None)

    def clear_pending_operations(self) -> None:
        """A refresh settles what an interrupted run left pending."""
        with self.lock:
            self.old.pending_operations = []
            self.state.pending_operations = []

    def fail(self, message: str, urn: str | None = None) -> None:
        """The run fails with ``message``; ``urn``'s dependents will be skipped."""
        with self.lock:
            self.errors.append(message)
            if urn:
                self._failed_urns.add(urn)

    def skip(self, urn: str) -> None:
        """``urn`` was not applied (skipped): its dependents are skipped too, with no error of their own."""
        with self.lock:
            self._failed_urns.add(urn)

    def failed(self, urn: str) -> bool:
        return urn in self._failed_urns

    def counts(self) -> dict[str, int]:
        return dict(Counter(kind for kind, _ in self.steps))

    # -- the state file ----------------------------------------------------------
    def checkpoint(self) -> None:
        """Write the state as it is now (each finished step, and the steps running as pending operations)."""
        with self.lock:
            if not self._writes or self.terminated:
                return
            self.state.pending_operations = [*self.old.pending_operations, *self._running.values()]
            self.state.meta = {"project": self._project,
                               "host_pythonpath": self._meta() or self.old.meta.get("host_pythonpath", [])}
            state_mod.save(self._directory, self._stack, self.state)

    def save(self) -> None:
        """The run's last write."""
        self.checkpoint()
