"""The offline engine's state: one JSON file per stack under ``DIR/.pulumi-offline/``.

Per resource URN: type, id, custom, inputs, outputs, dependencies, parent,
options that matter on delete (``protect``, ``retainOnDelete``, the delete
timeout), ``ignoreChanges`` (a refresh diffs with them), the id it was
imported with, the default provider it was created with, and for dynamic
resources the serialized ``__provider`` string, so ``destroy`` works
without the program. Default providers are resources too
(``pulumi:providers:PKG``), as in the engine's snapshot. Replaced copies
not deleted yet stay with ``"delete": true`` and operations interrupted
mid-way are listed (``pending_operations``), as in the engine's checkpoint
(``pkg/resource/deploy/snapshot.go``). Secrets keep the SDK's secret marker
(stored unencrypted: docs/offline-engine.md says what is not modelled).
Also the helpers every step uses on property values: secret markers
unwrapped or carried over, preview unknowns found or dropped, assets as JSON.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pulumi
from pulumi.output import Unknown

#: The SDK's marker of a secret value on the wire (``rpc._special_sig_key`` / ``_special_secret_sig``).
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
STATE_DIR = ".pulumi-offline"


def plain(value: Any) -> Any:
    """Unwrap every secret marker (``{sig: secret, value: v}`` -> ``v``), recursively."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG and "value" in value:
            return plain(value["value"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG and "value" in value


def make_secret(value: Any) -> Any:
    return value if is_secret(value) else {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def any_nested(value: Any, test: Callable[[Any], bool]) -> bool:
    """Whether ``test`` holds for ``value`` or for anything inside its mappings and lists, at any depth."""
    if test(value):
        return True
    if isinstance(value, dict):
        return any(any_nested(v, test) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(any_nested(v, test) for v in value)
    return False


def contains_secret(value: Any) -> bool:
    return any_nested(value, is_secret)


def annotate_secrets(outs: dict[str, Any], ins: Any) -> None:
    """Mark ``outs`` secret wherever ``ins`` held a secret under the same key, recursing into maps
    (``provider_plugin.go`` ``annotateSecrets``: for a provider that was sent no secrets)."""
    if not isinstance(outs, dict) or not isinstance(ins, dict):
        return
    for key, in_value in ins.items():
        if key not in outs:
            continue
        out_value = outs[key]
        if isinstance(out_value, dict) and not is_secret(out_value) and isinstance(in_value, dict) \
                and not is_secret(in_value):
            annotate_secrets(out_value, in_value)
        elif not is_secret(out_value) and contains_secret(in_value):
            outs[key] = make_secret(out_value)


def secret_outputs_of_secret_inputs(outputs: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """An output whose input of the same name is secret becomes secret (``step_executor.go``
    ``continueExecuteStep``: "if an input secret is potentially leaked as an output")."""
    return {k: make_secret(v) if not is_secret(v) and is_secret(inputs.get(k)) else v for k, v in outputs.items()}


def has_unknown(value: Any) -> bool:
    """Whether a preview left any value unknown (an output not computed yet), at any depth."""
    return any_nested(value, lambda item: isinstance(item, Unknown))


def known(value: Any) -> Any:
    """Drop unknown values (preview) so they stay unknown for the program."""
    if isinstance(value, dict):
        return {k: known(v) for k, v in value.items() if not isinstance(v, Unknown)}
    return value


def to_json(value: Any) -> Any:
    """A JSON-able copy: assets become ``{"__asset": kind, ...}`` markers."""
    if isinstance(value, pulumi.StringAsset):
        return {"__asset": "string", "text": value.text}
    if isinstance(value, pulumi.FileAsset):
        return {"__asset": "file", "path": str(value.path)}
    if isinstance(value, pulumi.RemoteAsset):
        return {"__asset": "remote", "uri": value.uri}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


@dataclass
class ResourceState:
    urn: str
    type: str
    id: str = ""
    custom: bool = True
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    parent: str = ""
    provider: str | None = None  # serialized ``__provider`` of a dynamic resource
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    protect: bool = False  # the engine refuses to delete (or replace) it
    custom_timeouts: dict[str, float] = field(default_factory=dict)  # create/update/delete, seconds
    ignore_changes: list[str] = field(default_factory=list)
    import_id: str = ""  # the id the program imported it with (``import_``)
    provider_ref: str = ""  # ``PROVIDER-URN::ID`` of the default provider it runs on
    delete: bool = False  # a replaced copy waiting for its delete

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    @property
    def provider_urn(self) -> str:
        return self.provider_ref.rsplit("::", 1)[0] if self.provider_ref else ""

    def to_dict(self) -> dict[str, Any]:
        return to_json(asdict(self))


@dataclass
class StackState:
    resources: dict[str, ResourceState] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    #: engine metadata: project name, the PYTHONPATH entries the dynamic host needs (for destroy).
    meta: dict[str, Any] = field(default_factory=dict)
    #: replaced copies whose delete has not run (or failed): deleted by the next update
    pending_deletes: list[ResourceState] = field(default_factory=list)
    #: ``{"urn", "type", "kind"}`` of steps that were running when the engine was terminated
    pending_operations: list[dict[str, str]] = field(default_factory=list)


def state_path(directory: str | os.PathLike, stack: str) -> Path:
    return Path(directory) / STATE_DIR / f"{stack}.json"


def load(directory: str | os.PathLike, stack: str) -> StackState:
    path = state_path(directory, stack)
    if not path.exists():
        return StackState()
    data = json.loads(path.read_text())
    entries = [ResourceState(**r) for r in data.get("resources", [])]
    resources = {r.urn: r for r in entries if not r.delete}
    return StackState(resources, data.get("outputs", {}), data.get("engine", {}),
                      [r for r in entries if r.delete], list(data.get("pending_operations", [])))


def save(directory: str | os.PathLike, stack: str, state: StackState) -> Path:
    """Write atomically (temp file + rename), resources in dependency order."""
    path = state_path(directory, stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = [state.resources[u] for u in topological(state.resources.values())]
    body = {"version": 1, "stack": stack,
            "resources": [r.to_dict() for r in ordered] + [r.to_dict() for r in state.pending_deletes],
            "pending_operations": list(state.pending_operations),
            "outputs": to_json(state.outputs), "engine": to_json(state.meta)}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(body, handle, indent=2, sort_keys=False)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def topological(resources: Iterable[ResourceState]) -> list[str]:
    """URNs so that every resource comes after its dependencies and its parent."""
    by_urn = {r.urn: r for r in resources}
    done: set[str] = set()
    order: list[str] = []

    def visit(urn: str, trail: frozenset[str]) -> None:
        if urn in done or urn not in by_urn or urn in trail:
            return
        res = by_urn[urn]
        for dep in [res.provider_urn, *res.dependencies, res.parent]:
            visit(dep, trail | {urn})
        done.add(urn)
        order.append(urn)

    for urn in by_urn:
        visit(urn, frozenset())
    return order
