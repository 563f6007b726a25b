"""What the program registers, as the engine's resource monitor sees it: URN and resource options.

Why: the SDK's mock monitor hands :meth:`Mocks.new_resource` only the type,
name and resolved inputs; the options that decide a step (dependencies,
``protect``, ``retainOnDelete``, ``deleteBeforeReplace``, ``ignoreChanges``,
``replaceOnChanges``, ``customTimeouts``, ``import_``) are in the request.
:class:`ResourceMonitor` reads them into a :class:`Registration` and forms
the URN as the engine does (``pkg/resource/deploy/source_eval.go``,
``resmon.RegisterResource``). Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from pulumi.runtime import mocks as sdk_mocks

from .messages import StepError, UnsupportedError

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Registration:
    urn: str
    parent: str
    dependencies: list[str]
    custom: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]
    replace_on_changes: list[str]
    protect: bool = False
    custom_timeouts: dict[str, float] = field(default_factory=dict)
    import_id: str = ""  # the ``import_`` option: the id of an existing resource to adopt
    #: ``deleteBeforeReplace`` only when the program set it (then it overrides the provider's choice)
    delete_before_replace_given: bool = False
    provider: str = ""  # an explicit provider's reference (``URN::ID``); empty for the default one


_GO_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")


def go_duration_seconds(text: str) -> float | None:
    """``customTimeouts`` values are Go durations (``"1h30m"``, ``"90s"``); ``None`` when empty."""
    text = (text or "").strip()
    if not text:
        return None
    parts = _GO_DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise StepError(f"customTimeouts: {text!r} is not a duration (for example 90s, 5m, 1h30m)")
    return sum(float(number) * _GO_DURATION_UNITS[unit] for number, unit in parts)


def custom_timeouts(request: Any) -> dict[str, float]:
    """``customTimeouts`` of a registration, in seconds (only those given)."""
    if not request.HasField("customTimeouts"):
        return {}
    given = {op: go_duration_seconds(getattr(request.customTimeouts, op)) for op in ("create", "update", "delete")}
    return {op: seconds for op, seconds in given.items() if seconds is not None}


class ResourceMonitor(sdk_mocks.MockMonitor):
    """The SDK's mock monitor, plus what the engine needs from each request.

    ``RegisterResource`` runs :meth:`Mocks.new_resource` on the same thread,
    which picks the request's :class:`Registration` up with :meth:`take`.
    ``refuse`` records a failure the run reports (a ``get`` of an existing resource).
    """

    def __init__(self, mocks: sdk_mocks.Mocks, *, project: str, stack: str,
                 refuse: Callable[[str], None]) -> None:
        super().__init__(mocks)
        self._project, self._stack, self._refuse = project, stack, refuse
        self._pending = threading.local()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine forms them: the parent's whole type chain, and none for the stack's
        children (the SDK's mock keeps only the parent's last type and counts the stack); a
        provider reads the resource's type from its URN."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != STACK_TYPE:
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([self._stack, self._project, type_, name])

    def take(self) -> Registration:
        """The registration of the request this thread is registering (handed over once)."""
        registration = self._pending.registration
        self._pending.registration = None
        return registration

    def RegisterResource(self, request):  # noqa: N802 gRPC method name
        if request.type != STACK_TYPE:
            deps = list(request.dependencies)
            for prop in request.propertyDependencies.values():
                deps.extend(prop.urns)
            self._pending.registration = Registration(
                urn=self.make_urn(request.parent, request.type, request.name),
                parent=request.parent,
                dependencies=sorted(set(deps)),
                custom=bool(request.custom),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                delete_before_replace_given=bool(request.deleteBeforeReplaceDefined),
                ignore_changes=list(request.ignoreChanges),
                replace_on_changes=list(request.replaceOnChanges),
                protect=bool(request.protect),
                custom_timeouts=custom_timeouts(request),
                import_id=request.importId,
                provider=request.provider,
            )
        return super().RegisterResource(request)

    def ReadResource(self, request):  # noqa: N802
        message = (f"reading an existing resource ({request.type} {request.name!r}, id {request.id!r}) "
                   "is not supported by pulumi-offline")
        self._refuse(message)
        raise UnsupportedError(message)
