"""Deciding each resource's step from the old state: Check, Diff, then same/create/update/replace.

Why: here the offline engine must decide as the real one does
(``pkg/resource/deploy/step_generator.go``: ``generateSteps``, ``diff``,
``GenerateDeletes``), never kinder, never stricter. A provider process is
asked ``Check`` then ``Diff`` against the saved outputs; for a local
pulumi-gcp type the applier's check runs and the changed inputs meet the
type's replace keys. ``replaceOnChanges`` turns an update into a replace; a
protected resource is never replaced. Applying a step is :mod:`.step`'s job.
Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from pulumi.runtime.proto import provider_pb2

from .gcp import CloudError
from .host import PROVIDER_KEY
from .messages import CheckFailed, StepError, protected_replace_message
from .providers import LocalGcpProvider, ProcessProvider, outputs_for_provider
from .registration import Registration
from .state import ResourceState, StackState, has_unknown, known, to_json, topological
from .step import Step


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any], ignore: Iterable[str] = ()) -> set[str]:
    """Top-level input keys whose value differs, leaving out ``ignoreChanges`` paths (and their roots)."""
    keys = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
    return {k for k in keys if k not in ignore and k.split(".")[0] not in ignore}


def new_entry(urn: str, type_: str, reg: Registration) -> ResourceState:
    """The state entry a registration starts (inputs, id and outputs are filled by its step)."""
    return ResourceState(urn=urn, type=type_, custom=reg.custom, dependencies=reg.dependencies,
                         parent=reg.parent, retain_on_delete=reg.retain_on_delete,
                         delete_before_replace=reg.delete_before_replace, protect=reg.protect,
                         custom_timeouts=reg.custom_timeouts)


def record_only(entry: ResourceState, inputs: dict[str, Any], old: ResourceState | None, name: str) -> str:
    """Components and explicit provider resources: nothing to apply, recorded as registered; the step's kind."""
    entry.inputs = to_json(inputs)
    entry.outputs = to_json(inputs)
    entry.id = old.id if old else (f"{name}-id" if entry.custom else "")
    return "same" if old is not None and old.inputs == entry.inputs else ("create" if old is None else "update")


def generate(provider: ProcessProvider | LocalGcpProvider, reg: Registration, name: str, entry: ResourceState,
             inputs: dict[str, Any], old: ResourceState | None) -> Step:
    """The step of custom resource ``name`` registered with ``inputs`` (``old``: its saved state, if any)."""
    if isinstance(provider, ProcessProvider):
        return _on_process(provider, reg, name, entry, inputs, old)
    return _on_local_gcp(provider, reg, name, entry, inputs, old)


def _refuse_protected_replace(kind: str, urn: str, old: ResourceState, reg: Registration) -> None:
    if kind == "replace" and old.protect and reg.protect:
        raise StepError(protected_replace_message(urn))


def _on_process(provider: ProcessProvider, reg: Registration, name: str, entry: ResourceState,
                inputs: dict[str, Any], old: ResourceState | None) -> Step:
    """``Check`` and ``Diff`` on a provider process, then the kind as the engine reads the ``DiffResponse``."""
    host, urn = provider.plugin, entry.urn
    if provider.dynamic:
        serialized = inputs.get(PROVIDER_KEY)
        entry.provider = serialized if isinstance(serialized, str) else (old.provider if old else None)
    checked = host.check(urn, old.inputs if old else {}, inputs)
    if checked.failures:
        raise CheckFailed(name, entry.type, checked.failures)
    news = checked.inputs
    entry.inputs = to_json(known(news))
    dbr = reg.delete_before_replace
    if old is None:
        kind = "create"
    else:
        diff = host.diff(urn, old.id, outputs_for_provider(old), news, old_inputs=old.inputs,
                         ignore_changes=reg.ignore_changes)
        changed = changed_keys(old.inputs, news, reg.ignore_changes)
        if diff.replaces:
            kind, dbr = "replace", dbr or diff.delete_before_replace
        elif diff.changes == provider_pb2.DiffResponse.DIFF_SOME:
            kind = "update"
        elif diff.changes == provider_pb2.DiffResponse.DIFF_NONE:
            kind = "same"
        else:
            kind = "update" if changed else "same"
        if kind == "update" and ("*" in reg.replace_on_changes or changed & set(reg.replace_on_changes)):
            kind = "replace"
        _refuse_protected_replace(kind, urn, old, reg)
    return Step(kind, name, old, entry, news, reg, provider, dbr)


def _on_local_gcp(provider: LocalGcpProvider, reg: Registration, name: str, entry: ResourceState,
                  inputs: dict[str, Any], old: ResourceState | None) -> Step:
    """The applier's check (skipped while a preview leaves inputs unknown), then the changed inputs
    against the type's replace keys."""
    applier = provider.applier
    if not has_unknown(inputs):
        try:
            inputs = applier.check(name, inputs)
        except CloudError as exc:
            prop, _, reason = str(exc).partition(": ")
            raise CheckFailed(name, entry.type, [(prop, reason or str(exc))]) from None
    stored = to_json(known(inputs))
    entry.inputs = stored
    if old is None:
        kind = "create"
    else:
        changed = changed_keys(old.inputs, to_json(inputs), reg.ignore_changes)
        if not changed:
            kind = "same"
        elif (applier.replace_keys is None or changed & applier.replace_keys
              or "*" in reg.replace_on_changes or changed & set(reg.replace_on_changes)):
            kind = "replace"
        else:
            kind = "update"
        _refuse_protected_replace(kind, entry.urn, old, reg)
        if kind != "same" and reg.ignore_changes:
            entry.inputs = {**stored, **{k: old.inputs[k] for k in reg.ignore_changes if k in old.inputs}}
    return Step(kind, name, old, entry, inputs, reg, provider,
                reg.delete_before_replace or applier.delete_before_replace)


def to_delete(old: StackState, registered: set[str]) -> list[ResourceState]:
    """Saved resources the program no longer registers, in dependency order (deleted in reverse)."""
    return [old.resources[u] for u in topological(old.resources.values()) if u not in registered]
