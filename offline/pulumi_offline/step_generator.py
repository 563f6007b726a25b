"""Deciding each resource's step from the old state: Check, Diff, then same/create/update/replace.

Why: here the offline engine must decide as the real one does
(``pkg/resource/deploy/step_generator.go``: ``continueStepsFromImport``,
``generateStepsFromDiff``, ``continueStepsFromDiff``, ``diffResource``,
``applyReplaceOnChanges``), never kinder, never stricter:

* ``ignoreChanges``: the old values are put back into the new inputs
  before ``Check`` and ``Diff`` (``processIgnoreChanges``,
  :mod:`.property_path`);
* ``Check`` with the old inputs; failures in the engine's words;
* ``Diff`` against the saved outputs; ``DIFF_UNKNOWN`` is settled by
  comparing old and new inputs; a changed default provider replaces;
  ``replaceOnChanges`` turns the changed keys the provider names into
  replace keys;
* a replace re-runs ``Check`` with the program's inputs and no olds (a
  fresh auto-name, the ignored properties' new values), is refused for a
  protected resource and for one that still names its ``import_`` id, and
  deletes first when the program or else the provider says so.

For a local pulumi-gcp type the applier's check is ``Check`` and its
replace keys are its ``Diff``. Applying a step is :mod:`.step`'s job.
Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from pulumi.runtime.proto import provider_pb2

from .gcp import CloudError
from .host import PROVIDER_KEY
from .messages import CheckFailed, StepError, cannot_ignore, import_replace, protected_replace_message
from .property_path import PathError, contains, parse, reset_ignored
from .providers import LocalGcpProvider, ProcessProvider, is_default_provider, outputs_for_provider
from .registration import Registration
from .state import ResourceState, StackState, has_unknown, known, plain, to_json, topological
from .step import Step

_DIFF = provider_pb2.DiffResponse
_REPLACE_KINDS = frozenset({provider_pb2.PropertyDiff.ADD_REPLACE, provider_pb2.PropertyDiff.DELETE_REPLACE,
                            provider_pb2.PropertyDiff.UPDATE_REPLACE})
#: ``(urn, severity, message)``: a diagnostic for the display (an info about ignoreChanges, a warning).
Diagnose = Callable[[str, str, str], None]


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Top-level input keys whose value differs (secrets compared by their values)."""
    old, new = plain(dict(old)), plain(dict(new))
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def new_entry(urn: str, type_: str, reg: Registration) -> ResourceState:
    """The state entry a registration starts (inputs, id and outputs are filled by its step)."""
    return ResourceState(urn=urn, type=type_, custom=reg.custom, dependencies=reg.dependencies,
                         parent=reg.parent, retain_on_delete=reg.retain_on_delete,
                         delete_before_replace=reg.delete_before_replace, protect=reg.protect,
                         custom_timeouts=reg.custom_timeouts, ignore_changes=list(reg.ignore_changes),
                         import_id=reg.import_id)


def record_only(entry: ResourceState, inputs: dict[str, Any], old: ResourceState | None, name: str) -> str:
    """Components and explicit provider resources: nothing to apply, recorded as registered; the step's kind."""
    entry.inputs = to_json(inputs)
    entry.outputs = to_json(inputs)
    entry.id = old.id if old else (f"{name}-id" if entry.custom else "")
    return "same" if old is not None and old.inputs == entry.inputs else ("create" if old is None else "update")


def generate(provider: ProcessProvider | LocalGcpProvider, reg: Registration, name: str, entry: ResourceState,
             inputs: dict[str, Any], old: ResourceState | None, *, preview: bool, diagnose: Diagnose,
             imported: bool = False) -> Step:
    """The step of custom resource ``name`` registered with ``inputs`` (``old``: its saved or just
    imported state, if any)."""
    program_inputs = dict(inputs)
    if old is not None and reg.ignore_changes:
        inputs, failed = reset_ignored(inputs, old.inputs, reg.ignore_changes)
        if failed:
            diagnose(entry.urn, "info", cannot_ignore(failed))
    entry.provider_ref = provider.ref
    if isinstance(provider, ProcessProvider):
        step = _on_process(provider, reg, name, entry, inputs, program_inputs, old)
    else:
        step = _on_local_gcp(provider, reg, name, entry, inputs, program_inputs, old)
    step.imported = imported
    if step.kind == "replace":
        _refuse_replace(step, preview=preview, diagnose=diagnose)
    return step


def _refuse_replace(step: Step, *, preview: bool, diagnose: Diagnose) -> None:
    """``continueStepsFromDiff``: a protected resource is not replaced (preview shows the error and
    goes on, an update stops); nor one whose program still names the id it imported."""
    old, reg = step.old, step.registration
    if old.protect and reg.protect:
        raise StepError(protected_replace_message(step.urn))
    if reg.import_id:
        keys = [(key, str(plain(old.inputs.get(key))), str(plain(step.new.inputs.get(key))))
                for key in step.replace_keys]
        message = import_replace(keys)
        if not preview:
            raise StepError(message)
        diagnose(step.urn, "warning", message)


def _replace_on_changes(changes: int, replaces: list[str], diffs: list[str], detailed: Mapping[str, int],
                        replace_on_changes: list[str]) -> tuple[list[str], bool]:
    """``applyReplaceOnChanges``: the replace keys once ``replaceOnChanges`` paths meet the changed
    keys (and detailed diff paths) the provider named; whether any detailed diff entry replaces."""
    keys = list(replaces)
    detailed_replace = any(kind in _REPLACE_KINDS for kind in detailed.values())
    if changes != _DIFF.DIFF_SOME or not replace_on_changes:
        return keys, detailed_replace
    paths = []
    for text in replace_on_changes:
        try:
            paths.append(parse(text))
        except PathError:
            continue
    for key in diffs:
        if key not in keys and any(contains(path, [key]) for path in paths):
            keys.append(key)
    for text in detailed:
        try:
            if any(contains(path, parse(text)) for path in paths):
                detailed_replace = True
        except PathError:
            continue
    return keys, detailed_replace


def _on_process(provider: ProcessProvider, reg: Registration, name: str, entry: ResourceState,
                inputs: dict[str, Any], program_inputs: dict[str, Any], old: ResourceState | None) -> Step:
    """``Check`` and ``Diff`` on a provider process, then the kind as the engine reads the ``DiffResponse``."""
    host, urn = provider.plugin, entry.urn
    if provider.dynamic:
        serialized = plain(inputs.get(PROVIDER_KEY))
        entry.provider = serialized if isinstance(serialized, str) else (old.provider if old else None)
    checked = host.check(urn, old.inputs if old else {}, inputs)
    if checked.failures:
        raise CheckFailed(name, entry.type, checked.failures, program_inputs)
    news = checked.inputs
    entry.inputs = to_json(known(news))
    if old is None:
        return Step("create", name, old, entry, news, reg, provider)
    if old.provider_ref and provider.ref and old.provider_ref != provider.ref:
        # step_generator.go providerChanged: a replaced default provider replaces its resources
        changes, replaces, diffs, detailed, dbr = _DIFF.DIFF_SOME, ["provider"], [], {}, False
    else:
        diff = host.diff(urn, old.id, outputs_for_provider(old), news, old_inputs=old.inputs,
                         ignore_changes=reg.ignore_changes)
        changes, replaces, diffs, detailed, dbr = (diff.changes, diff.replaces, diff.diffs, diff.detailed,
                                                   diff.delete_before_replace)
        if changes == _DIFF.DIFF_UNKNOWN:  # diffResource: the inputs decide
            settled, _ = reset_ignored(news, old.inputs, reg.ignore_changes)
            diffs = changed_keys(old.inputs, settled)
            changes = _DIFF.DIFF_SOME if diffs else _DIFF.DIFF_NONE
        elif changes not in (_DIFF.DIFF_NONE, _DIFF.DIFF_SOME):
            raise StepError(f"unrecognized diff state for {urn}: {changes}")
    replace_keys, detailed_replace = _replace_on_changes(changes, replaces, diffs, detailed, reg.replace_on_changes)
    if changes != _DIFF.DIFF_SOME:
        return Step("same", name, old, entry, news, reg, provider)
    if not replace_keys and not detailed_replace:
        return Step("update", name, old, entry, news, reg, provider)
    # A replace recomputes the inputs from the program's, as for a new resource.
    rechecked = host.check(urn, {}, program_inputs)
    if rechecked.failures:
        raise CheckFailed(name, entry.type, rechecked.failures, program_inputs)
    entry.inputs = to_json(known(rechecked.inputs))
    dbr = reg.delete_before_replace if reg.delete_before_replace_given else dbr
    return Step("replace", name, old, entry, rechecked.inputs, reg, provider, dbr, replace_keys=replace_keys)


def _gcp_check(provider: LocalGcpProvider, name: str, entry: ResourceState, inputs: dict[str, Any],
               program_inputs: dict[str, Any], olds: Mapping[str, Any]) -> dict[str, Any]:
    """The applier's check (skipped while a preview leaves inputs unknown), failures as ``Check``'s."""
    if has_unknown(inputs):
        return inputs
    try:
        return provider.applier.check(name, plain(inputs), plain(dict(olds)))
    except CloudError as exc:
        prop, _, reason = str(exc).partition(": ")
        raise CheckFailed(name, entry.type, [(prop, reason or str(exc))], program_inputs) from None


def _on_local_gcp(provider: LocalGcpProvider, reg: Registration, name: str, entry: ResourceState,
                  inputs: dict[str, Any], program_inputs: dict[str, Any], old: ResourceState | None) -> Step:
    """The applier's check, then the changed inputs against the type's replace keys."""
    applier = provider.applier
    news = _gcp_check(provider, name, entry, inputs, program_inputs, old.inputs if old else {})
    entry.inputs = to_json(known(news))
    if old is None:
        return Step("create", name, old, entry, news, reg, provider)
    changed = changed_keys(old.inputs, to_json(known(news)))
    if not changed:
        return Step("same", name, old, entry, news, reg, provider)
    replace_keys = sorted(set(changed) if applier.replace_keys is None else set(changed) & applier.replace_keys)
    replace_keys, _ = _replace_on_changes(_DIFF.DIFF_SOME, replace_keys, changed, {}, reg.replace_on_changes)
    if not replace_keys:
        return Step("update", name, old, entry, news, reg, provider)
    news = _gcp_check(provider, name, entry, program_inputs, program_inputs, {})
    entry.inputs = to_json(known(news))
    dbr = reg.delete_before_replace if reg.delete_before_replace_given else applier.delete_before_replace
    return Step("replace", name, old, entry, news, reg, provider, dbr, replace_keys=replace_keys)


def to_delete(old: StackState, registered: set[str], replaced: list[ResourceState]) -> list[ResourceState]:
    """Saved resources the program no longer registers (default providers apart: :mod:`.providers`
    keeps them while a resource uses them), and the replaced copies waiting for their delete
    (``replaced``: the saved ones and this run's)."""
    removed = [old.resources[u] for u in topological(old.resources.values())
               if u not in registered and not is_default_provider(old.resources[u])]
    return removed + list(replaced)
