"""``pulumi-offline refresh``: each saved resource read back from its provider, as the engine does.

Why: ``pulumi refresh`` does not run the program; for every custom resource
of the state it asks the provider the resource was saved with (configured
from its saved inputs) to ``Read`` it, with its id, old inputs and old
outputs (pulumi/pulumi ``pkg/resource/deploy/step.go`` ``RefreshStep.Apply``,
``step_generator.go`` ``GenerateRefreshes``). An empty id in the answer: the
resource is gone and leaves the state. Otherwise the inputs it returns (or
the old ones) and its outputs are saved, and ``Diff`` with the new state as
the old and the old inputs as the new (``diffResource``, inverted) says
whether it changed (``RefreshStep.ResultOp``: updated or unchanged).
Components and providers are left as they are; the refreshes run in
parallel, up to ``--parallel``. A refresh clears the pending operations an
interrupted run left. pulumi-gcp resources are asked only whether they
still exist (:meth:`pulumi_offline.gcp.Applier.read`).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from pulumi.runtime.proto import provider_pb2

from .gcp import CloudError
from .host import HostError
from .messages import UnsupportedError
from .property_path import reset_ignored
from .providers import PROVIDER_PREFIX, LocalGcpProvider, outputs_for_provider
from .state import ResourceState, to_json
from .step import RUNNING_OPERATION
from .step_generator import changed_keys

if TYPE_CHECKING:
    from .deployment import Engine

_DIFF = provider_pb2.DiffResponse


def refresh(engine: "Engine") -> None:
    """Refresh every saved resource of ``engine``'s stack (a preview reads and shows, saves nothing)."""
    journal = engine.journal
    journal.clear_pending_operations()
    resources = [r for r in journal.old_in_order() if r.custom and not r.type.startswith(PROVIDER_PREFIX)]
    with ThreadPoolExecutor(max_workers=engine.executor.parallel, thread_name_prefix="offline-refresh") as pool:
        list(pool.map(lambda res: _refresh_one(engine, res), resources))


def _refresh_one(engine: "Engine", old: ResourceState) -> None:
    if engine.cancelled:
        return
    started = time.monotonic()
    try:
        kind, new = _read(engine, old)
    except (HostError, CloudError, UnsupportedError) as exc:
        message = exc.details if isinstance(exc, HostError) else str(exc)
        engine.executor.fail_step(old, message)
        return
    journal = engine.journal
    journal.record(kind, old.urn)
    if not engine.preview:
        if new is None:
            journal.deleted(old)
        else:
            journal.put(new)
    engine.display.step(kind, old.type, old.name, preview=engine.preview, seconds=time.monotonic() - started,
                        urn=old.urn)


def _read(engine: "Engine", old: ResourceState) -> tuple[str, ResourceState | None]:
    """What the provider says of ``old`` now: the kind of change, and the new state (``None``: gone)."""
    provider = engine.providers.for_state(old)
    if isinstance(provider, LocalGcpProvider):
        outputs = provider.applier.read(old)
        if outputs is None:
            return "delete", None
        return ("same" if outputs == old.outputs else "update"), _with(old, old.inputs, outputs)
    journal = engine.journal
    if not engine.preview:
        journal.begin(old.urn, old.type, RUNNING_OPERATION["refresh"])
    try:
        read = provider.plugin.read(old.urn, old.id, outputs_for_provider(old), old.inputs)
    finally:
        journal.end(old.urn)
    if not read.id:
        return "delete", None
    inputs = to_json(read.inputs) if read.inputs is not None else old.inputs
    new = _with(old, inputs, to_json(read.outputs), ident=read.id)
    diff = provider.plugin.diff(old.urn, new.id, outputs_for_provider(new), old.inputs, old_inputs=new.inputs,
                                ignore_changes=old.ignore_changes)
    changes = diff.changes
    if changes == _DIFF.DIFF_UNKNOWN:
        settled, _ = reset_ignored(old.inputs, new.inputs, old.ignore_changes)
        changes = _DIFF.DIFF_SOME if changed_keys(new.inputs, settled) else _DIFF.DIFF_NONE
    return ("same" if changes == _DIFF.DIFF_NONE else "update"), new


def _with(old: ResourceState, inputs: dict, outputs: dict, ident: str | None = None) -> ResourceState:
    new = ResourceState(**{**old.__dict__})
    new.inputs, new.outputs = dict(inputs), dict(outputs)
    if ident:
        new.id = ident
    return new
