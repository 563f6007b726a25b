"""``pulumi-offline import TYPE NAME ID``: adopting an existing resource, as the engine's import deployment does.

Why: ``pulumi import`` runs no program (pulumi/pulumi
``pkg/resource/deploy/import.go`` ``importResources`` and ``step.go``
``ImportStep.Apply`` for a planned import): the package's default provider
is checked and configured from the stack's config, then ``Read`` is sent
with the id alone (no inputs, no state). Nothing read: ``resource 'ID' does
not exist``; no inputs read: the provider does not support importing. The
inputs read become the resource's inputs, ``Check`` runs with them as both
old and new, and its failures are warnings (the import still happens). A
resource already in the state under that URN with that id is left alone;
with another id the import fails. What is imported is protected unless
``--protect=false`` (``pkg/cmd/pulumi/operations/import.go``). The program
code the CLI generates after an import is not modelled.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .gcp import CloudError
from .host import HostError
from .messages import (StepError, UnsupportedError, check_failure, import_check_warning, import_exists,
                       import_missing, import_unsupported)
from .plugins import package_of
from .providers import LocalGcpProvider
from .registration import STACK_TYPE
from .state import ResourceState, to_json
from .step import RUNNING_OPERATION

if TYPE_CHECKING:
    from .deployment import Engine


def resource_urn(engine: "Engine", type_: str, name: str, parent: str = "") -> str:
    """The URN the engine gives an imported resource (``generateURN``): under ``parent`` or the stack."""
    qualified = type_
    if parent and parent.split("::")[2] != STACK_TYPE:
        qualified = f"{parent.split('::')[2]}${type_}"
    return f"urn:pulumi:{engine.stack}::{engine.project.name}::{qualified}::{name}"


def import_resource(engine: "Engine", type_: str, name: str, ident: str, *, protect: bool = True,
                    parent: str = "") -> None:
    """Import ``ident`` as resource ``name`` of ``type_`` into ``engine``'s stack."""
    urn = resource_urn(engine, type_, name, parent)
    old = engine.journal.old.resources.get(urn)
    if old is not None:
        if (old.import_id or old.id) == ident:
            return  # import.go importResources: it exists with that id already, nothing to do
        engine.executor.fail_step(old, import_exists(urn))
        return
    if parent and parent not in engine.journal.old.resources:
        engine.executor.fail_step(ResourceState(urn=urn, type=type_), f"unknown parent '{parent}' for resource '{urn}'")
        return
    entry = ResourceState(urn=urn, type=type_, parent=parent, protect=protect)
    started = time.monotonic()
    try:
        provider = engine.providers.for_type(type_)
        if isinstance(provider, LocalGcpProvider):
            raise UnsupportedError(f"importing a {type_} is not modelled by pulumi-offline")
        entry.provider_ref = provider.ref
        if not engine.preview:
            engine.journal.begin(urn, type_, RUNNING_OPERATION["import"])
        try:
            read = provider.plugin.read(urn, ident, None, None)
        finally:
            engine.journal.end(urn)
        if not read.id:
            raise StepError(import_missing(ident))
        if read.inputs is None:
            raise StepError(import_unsupported(package_of(type_) or type_.split(":")[0]))
        entry.id, entry.inputs, entry.outputs = read.id or ident, to_json(read.inputs), to_json(read.outputs)
        checked = provider.plugin.check(urn, read.inputs, read.inputs)
    except (StepError, HostError, CloudError, UnsupportedError) as exc:
        message = exc.details if isinstance(exc, HostError) else str(exc)
        engine.executor.fail_step(entry, message)
        return
    if checked.failures:
        engine.display.diagnostic(urn, "warning", import_check_warning(package_of(type_) or type_))
        for prop, reason in checked.failures:
            engine.display.diagnostic(urn, "warning", check_failure(type_, name, prop, reason, read.inputs))
    engine.journal.record("import", urn)
    if not engine.preview:
        engine.journal.put(entry)
    engine.display.step("import", type_, name, preview=engine.preview, seconds=time.monotonic() - started, urn=urn)
