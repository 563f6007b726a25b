"""What an applier is: how one pulumi-gcp resource type is created, updated and deleted locally.

Why: the offline engine plans every pulumi-gcp resource the same way (see
:mod:`pulumi_offline.step_generator`) and needs from each type only its
rules: which input changes replace it, whether the old one must go first,
its check, its outputs. Inputs and outputs use the wire (camelCase) property
names. docs/offline-engine.md#what-it-does-and-what-it-does-not says what is
modelled.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from ..state import ResourceState

if TYPE_CHECKING:
    from .cloud import LocalCloud


class Applier:
    """How one pulumi-gcp type is applied. ``replace_keys=None``: every change replaces."""

    type = ""
    replace_keys: frozenset[str] | None = None
    delete_before_replace = True  # names are fixed: the new one cannot exist beside the old one

    def __init__(self, cloud: "LocalCloud") -> None:
        self.cloud = cloud

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return inputs

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def update(self, old: ResourceState, inputs: dict[str, Any]) -> dict[str, Any]:
        """Default: the changed fields are recorded only (the emulators do not model them)."""
        return {**old.outputs, **inputs}

    def delete(self, old: ResourceState) -> str | None:
        """Delete; may return a note for the display."""
        raise NotImplementedError

    def preview_outputs(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return dict(inputs)

    def _project(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not inputs.get("project"):
            inputs = {**inputs, "project": self.cloud.project}
        return inputs


class DerivedOutputs(Applier):
    """An applier whose outputs follow from its inputs alone (ids, links)."""

    def _outputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def update(self, old: ResourceState, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._outputs(inputs)

    def preview_outputs(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._outputs(inputs)


def autoname(name: str) -> str:
    """A physical name: the resource's name, a dash and 7 random hex digits (the shape of Pulumi's auto-names)."""
    return f"{name}-{secrets.token_hex(4)[:7]}".lower()
