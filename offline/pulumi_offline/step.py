"""One step on one resource (same, create, update, replace) and how it is applied to its provider.

Why: the engine decides a step (:mod:`.step_generator`) apart from applying
it, and how a replace is applied depends only on the step: the old one
deleted first under ``deleteBeforeReplace``, else the new one created first
(``pkg/resource/deploy/step.go``: ``CreateStep``, ``UpdateStep``,
``ReplaceStep``, ``DeleteStep`` and their ``Apply``). Where it runs, a
provider process or a local pulumi-gcp applier, is its
:class:`StepProvider` (:mod:`.providers`). Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .display import Display
from .journal import Journal
from .registration import Registration
from .state import ResourceState


class StepProvider(Protocol):
    """What applying a step needs of the provider that serves the resource's type."""

    #: whether a running step gets a display row (its provider may send status while it runs)
    shows_row: bool

    def preview(self, step: "Step") -> tuple[str, dict[str, Any]]:
        """The id and outputs a preview shows for a step that is not ``same``."""

    def create(self, step: "Step") -> tuple[str, dict[str, Any]]: ...

    def update(self, step: "Step") -> dict[str, Any]: ...

    def delete(self, old: ResourceState) -> str | None:
        """Delete ``old``; may return a note for the display."""


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
    if step.kind == "update":
        return old.id, step.provider.update(step)
    if step.kind == "replace" and step.delete_before_replace:
        step.provider.delete(old)
        journal.drop(step.urn)
    ident, outputs = step.provider.create(step)
    if step.kind == "replace" and not step.delete_before_replace:
        step.provider.delete(old)
    return ident, outputs
