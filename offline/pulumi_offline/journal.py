"""One run's record: its steps, its errors and the stack's new state; the only writer of the state file.

Why: registrations on many threads, the deletes and the run loop all record
into one run, so every record goes through one lock here, and the state
file is written from here only (the real engine's snapshot manager,
``pkg/backend/snapshot.go``, has that job). The new state starts as a copy
of the old one and a resource leaves it only when its delete succeeds, so a
failed or cancelled run keeps what it could not remove. The file's format:
:mod:`.state`. Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import os
import threading
from collections import Counter

from . import state as state_mod
from .state import ResourceState, StackState


class Journal:
    """One run's record of ``stack`` of project ``project``, state kept under ``directory``."""

    def __init__(self, directory: str | os.PathLike, stack: str, project: str) -> None:
        self._directory, self._stack, self._project = directory, stack, project
        self.lock = threading.RLock()
        self.old = StackState()
        self.state = StackState()
        self.steps: list[tuple[str, str]] = []  # (kind, urn), in the order they finished
        self.errors: list[str] = []
        self._failed_urns: set[str] = set()

    def load(self, *, keep_outputs: bool) -> None:
        """Read the saved state; the new state starts as its copy (stack outputs only with ``keep_outputs``)."""
        self.old = state_mod.load(self._directory, self._stack)
        self.state = StackState(dict(self.old.resources), dict(self.old.outputs) if keep_outputs else {},
                                dict(self.old.meta))

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

    def drop(self, urn: str) -> None:
        with self.lock:
            self.state.resources.pop(urn, None)

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
    def save(self, host_pythonpath: list[str]) -> None:
        """Write the new state (``host_pythonpath``: what the dynamic host needs to ``destroy`` later)."""
        self.state.meta = {"project": self._project,
                           "host_pythonpath": host_pythonpath or self.old.meta.get("host_pythonpath", [])}
        state_mod.save(self._directory, self._stack, self.state)
