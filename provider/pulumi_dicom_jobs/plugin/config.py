"""The provider plugin's configuration: what it is, where each value comes from, how it is checked.

Why a small table: ``CheckConfig`` validates, ``Configure`` reads and the
package schema describes the same three options; one :class:`ConfigOption`
each keeps them together. Every option also comes from an environment
variable (:mod:`pulumi_dicom_jobs.settings`), so a stack without config
behaves like the CLI and the dynamic resources in the same shell. Nothing
here is secret (an endpoint URL, a service account's email, a flag); the
credentials themselves are found by google-auth at call time and never pass
through the provider's configuration, state or messages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from pulumi_dicom_jobs import settings, validation

__all__ = ["ConfigOption", "OPTIONS", "ProviderConfig", "check", "resolve"]

def _bool_problem(value: Any) -> Optional[str]:
    """A flag is a boolean, or a word the settings read as one (``true``, ``off``...)."""
    if isinstance(value, bool) or (isinstance(value, str) and settings.switch(value) is not None):
        return None
    return f"must be true or false, got {value!r}"


def _email_problem(value: Any) -> Optional[str]:
    if isinstance(value, str) and "@" in value and " " not in value.strip():
        return None
    return f"must be a service account email (NAME@PROJECT.iam.gserviceaccount.com), got {value!r}"


@dataclass(frozen=True)
class ConfigOption:
    """One provider configuration value."""

    camel: str
    type: str
    description: str
    env: str
    problem: Callable[[Any], Optional[str]]

    def property(self) -> dict[str, Any]:
        """Its package-schema property (with the environment variable as its default source)."""
        return {"type": self.type, "description": self.description,
                "defaultInfo": {"environment": [self.env]}}


OPTIONS: tuple[ConfigOption, ...] = (
    ConfigOption("apiEndpoint", "string",
                 "Default Cloud Healthcare API endpoint for every job of this provider (a job's own "
                 "apiEndpoint wins; HEALTHCARE_EMULATOR_HOST wins over both).",
                 settings.API_ENDPOINT_ENV, validation.endpoint_problem),
    ConfigOption("impersonateServiceAccount", "string",
                 "Service account whose tokens the provider mints from the credentials it finds.",
                 settings.IMPERSONATE_ENV, _email_problem),
    ConfigOption("cancelOnInterrupt", "boolean",
                 "On Ctrl-C (the engine's Cancel), ask the API to cancel each waiting job's operation "
                 "(true, the default), or leave it running and say how to resume (false).",
                 settings.CANCEL_ON_INTERRUPT_ENV, _bool_problem),
)
_BY_NAME = {option.camel: option for option in OPTIONS}


@dataclass(frozen=True)
class ProviderConfig:
    """The configuration in force after ``Configure``."""

    api_endpoint: Optional[str] = None
    impersonate_service_account: Optional[str] = None
    cancel_on_interrupt: bool = True


def _given(values: Mapping[str, Any], name: str) -> Any:
    value = values.get(name)
    return None if value is None or value == "" or validation.is_unknown(value) else value


def check(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(option, reason)`` for every known option with a bad value, and every unknown option."""
    failures = []
    for name, value in values.items():
        option = _BY_NAME.get(name)
        if option is None:
            if name != "version" and not name.startswith("__"):
                failures.append((name, f"unknown option; known: {', '.join(sorted(_BY_NAME))}"))
            continue
        given = _given(values, name)
        if given is not None and (reason := option.problem(given)) is not None:
            failures.append((name, reason))
    return failures


def resolve(values: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> ProviderConfig:
    """The configuration from ``values`` (camelCase), each missing one from its environment variable."""
    def pick(name: str) -> Any:
        given = _given(values, name)
        if given is None:
            given = (environ.get(_BY_NAME[name].env) or "").strip() or None
        return given

    cancel = pick("cancelOnInterrupt")
    if isinstance(cancel, str):
        cancel = settings.switch(cancel) is not False
    return ProviderConfig(api_endpoint=pick("apiEndpoint"),
                          impersonate_service_account=pick("impersonateServiceAccount"),
                          cancel_on_interrupt=True if cancel is None else bool(cancel))
