"""One step on one resource (same, create, update, replace) and how it is applied to its provider.

Why: the engine decides a step (:mod:`.step_generator`) apart from applying
it, and how a replace is applied depends only on the step
(``pkg/resource/deploy/step.go``: ``CreateStep``, ``UpdateStep``,
``ReplaceStep``, ``DeleteStep`` and their ``Apply``): under
``deleteBeforeReplace`` the old one is deleted first (not at all, only
forgotten, when it has ``retainOnDelete``: ``DeleteStep.Apply`` honours it
on a replace too); otherwise the new one is created first and the old one
is left for the deletes at the end of the run (``step_generator.go``
``continueStepsFromDiff``: "the delete step is generated later"). Where it
runs, a provider process or a local pulumi-gcp applier, is its
:class:`StepProvider` (:mod:`.providers`). Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from .display import Display
from .journal import Journal
from .registration import Registration
from .state import ResourceState


class StepProvider(Protocol):
    """What applying a step needs of the provider that serves the resource's type."""

    #: whether a running step gets a display row (its provider may send status while it runs)
    shows_row: bool
    #: ``URN::ID`` of the default provider (empty for the local pulumi-gcp appliers)
    ref: str

    def preview(self, step: "Step") -> tuple[str, dict[str, Any]]:
        """The id and outputs a preview shows for a step that is not ``same``."""

    def create(self, step: "Step") -> tuple[str, dict[str, Any]]: ...

    def update(self, step: "Step") -> dict[str, Any]: ...

    def delete(self, old: ResourceState) -> str | None:
        """Delete ``old``; may return a note for the display."""


#: The pending operation a step leaves in the state while it runs (``apitype.OperationType``).
RUNNING_OPERATION = {"create": "creating", "update": "updating", "replace": "creating", "delete": "deleting",
                     "import": "importing", "refresh": "reading"}


@dataclass
class Step:
    kind: str  # same, create, update or replace (deletes are run apart: :mod:`.step_executor`)
    name: str  # the resource's name in the program
    old: ResourceState | None
    new: ResourceState  # what the state records once the step is done (id and outputs set then)
    news: dict[str, Any]  # the checked inputs (a preview may leave some unknown)
    registration: Registration
    provider: StepProvider
    delete_before_replace: bool = False
    replace_keys: list[str] = field(default_factory=list)
    imported: bool = False  # ``old`` was just read by an import (``ImportStep``)

    @property
    def urn(self) -> str:
        return self.new.urn


def apply(step: Step, *, preview: bool, display: Display, journal: Journal) -> tuple[str, dict[str, Any]]:
    """Apply ``step`` (a preview only asks what it would produce); return the resource's id and outputs."""
    old = step.old
    if preview:
        if step.kind == "same":
            return old.id, old.outputs
        return step.provider.preview(step)
    if step.kind == "same":
        step.new.provider = step.new.provider or old.provider
        return old.id, old.outputs
    if step.provider.shows_row:
        display.begin(step.urn, step.kind, step.new.type, step.name)
    journal.begin(step.urn, step.new.type, RUNNING_OPERATION[step.kind])
    try:
        if step.kind == "update":
            return old.id, step.provider.update(step)
        if step.kind == "replace" and step.delete_before_replace:
            if not old.retain_on_delete:
                step.provider.delete(old)
            journal.drop(step.urn)
        ident, outputs = step.provider.create(step)
        if step.kind == "replace" and not step.delete_before_replace:
            journal.pend_delete(old)
        return ident, outputs
    finally:
        journal.end(step.urn)
