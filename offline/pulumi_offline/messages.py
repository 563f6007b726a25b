"""What a user reads when a step fails, is refused or is skipped, in the engine's words.

Why one module: these sentences carry the Pulumi engine's meaning (the
protect refusals: replace in ``pkg/resource/deploy/step_generator.go``,
delete in ``step.go``'s ``DeleteStep.Apply``; the CLI's cancellation) or
say what pulumi-offline does not implement; tests and docs quote them, so
each is written once. None carries a stack trace: a user error never shows
one. Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import re

#: A run that Ctrl-C cancelled fails with this when no step failed (the steps not started were skipped).
CANCELLED = "the update was cancelled (Ctrl-C): steps not started yet were skipped"


class StepError(Exception):
    """A step failed; the message is what the user sees (no stack trace)."""


class CheckFailed(StepError):
    def __init__(self, name: str, type_: str, failures: list[tuple[str, str]]) -> None:
        lines = "\n".join(f"  {prop or '(resource)'}: {reason}" for prop, reason in failures)
        super().__init__(f"{name} ({type_}): Check failed:\n{lines}")
        self.failures = failures


class Skipped(StepError):
    """Not applied because an earlier step failed."""


class UnsupportedError(Exception):
    """A resource type, invoke token or resource operation the offline engine does not implement."""


def protected_delete_message(urn: str) -> str:
    """What the Pulumi engine says when a step would delete a protected resource."""
    return (f"unable to delete resource \"{urn}\"\n"
            "as it is currently marked for protection. To unprotect the resource, either remove the "
            "`protect` flag from the resource in your Pulumi program and run `pulumi up` or use the command:\n"
            f"`pulumi state unprotect '{urn}'`")


def protected_replace_message(urn: str) -> str:
    """What the Pulumi engine says when a change would replace a protected resource."""
    return (f"unable to replace resource \"{urn}\"\n"
            "as it is currently marked for protection. To unprotect the resource, remove the "
            "`protect` flag from the resource in your Pulumi program and run `pulumi up`")


#: How the SDK's provider server (``pulumi.provider.experimental``) words an exception: the gRPC
#: server's "Unexpected <class>: " prefix, the message, then ":" and the formatted stack frames.
_SERVER_FRAMES = re.compile(r"\AUnexpected <class '[\w.]+'>: (?P<message>.*?):\n  File \"", re.S)


def provider_message(details: str) -> str:
    """The provider's exception message out of the host's error details (which carry a traceback)."""
    framed = _SERVER_FRAMES.match(details)
    if framed:
        return framed.group("message").strip()
    lines = details.splitlines()
    frames = [i for i, line in enumerate(lines) if line.lstrip().startswith('File "')]
    if "Traceback (most recent call last):" not in details or not frames:
        return details.strip()
    rest = lines[frames[-1] + 1:]
    while rest and rest[0].startswith("    "):
        rest = rest[1:]
    message = "\n".join(rest).strip()
    return message or details.strip()
