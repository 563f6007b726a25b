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
from typing import TYPE_CHECKING, Any, Mapping

from ..state import ResourceState

if TYPE_CHECKING:
    from .cloud import LocalCloud


class Applier:
    """How one pulumi-gcp type is applied. ``replace_keys=None``: every change replaces.

    ``autoname_max``: the type's ``name`` input is auto-named as pulumi-gcp does (the longest name
    it makes); ``None`` when the type has no ``name`` input.
    """

    type = ""
    replace_keys: frozenset[str] | None = None
    delete_before_replace = True  # names are fixed: the new one cannot exist beside the old one
    autoname_max: int | None = None

    def __init__(self, cloud: "LocalCloud") -> None:
        self.cloud = cloud

    def check(self, name: str, inputs: dict[str, Any], olds: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """pulumi-gcp's ``Check``: the auto-name filled in (the saved one kept), then the type's rules."""
        if self.autoname_max is not None and not inputs.get("name"):
            inputs = {**inputs, "name": (olds or {}).get("name") or autoname(name, self.autoname_max)}
        return self.validate(name, inputs)

    def validate(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """The type's own rules on its inputs (a :class:`CloudError` ``"prop: reason"`` fails ``Check``)."""
        return inputs

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def update(self, old: ResourceState, inputs: dict[str, Any]) -> dict[str, Any]:
        """Default: the changed fields are recorded only (the emulators do not model them)."""
        return {**old.outputs, **inputs}

    def delete(self, old: ResourceState) -> str | None:
        """Delete; may return a note for the display."""
        raise NotImplementedError

    def read(self, old: ResourceState) -> dict[str, Any] | None:
        """A refresh: the resource's outputs now, ``None`` once it is gone. Default: the saved outputs
        (the emulators are asked only where a type knows how: whether it still exists)."""
        return old.outputs

    def _exists(self, which: str, path: str, old: ResourceState) -> dict[str, Any] | None:
        return old.outputs if self.cloud.http(which, "GET", path, ok_missing=True) else None

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


#: pulumi-gcp ``provider/resources.go``: ``prov.SetAutonaming(255, "-")`` for every resource's ``name``
#: input, ``google_storage_bucket`` ``tfbridge.AutoName("name", 222, "-")``.
AUTONAME_MAX = 255
BUCKET_AUTONAME_MAX = 222
_RANDOM_HEX = 7


def autoname(name: str, max_length: int = AUTONAME_MAX) -> str:
    """The auto-name pulumi-gcp gives an unnamed resource (pulumi-terraform-bridge
    ``ComputeAutoNameDefault`` with ``resource.NewUniqueName``): the resource's name, ``-`` and 7
    random hex digits, the name cut to fit ``max_length``; not lower-cased."""
    prefix = f"{name}-"
    if len(prefix) + _RANDOM_HEX > max_length:
        prefix = prefix[:max(0, max_length - _RANDOM_HEX)]
    return prefix + secrets.token_hex(4)[:_RANDOM_HEX]
