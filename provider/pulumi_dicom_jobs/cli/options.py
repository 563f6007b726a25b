"""The flags ``dicom-jobs`` commands share, and what they become.

Why its own module: the flags are the resources' inputs under CLI names
(:func:`pulumi_dicom_jobs.spec.cli_flags`), checked by the resources' own
rules; every command (``import``, ``export``, ``wait``, ``status``,
``cancel``) takes some of them, and the runner and the messages read them
back as one :class:`Options`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import click

from pulumi_dicom_jobs import api_facts, spec
from pulumi_dicom_jobs.command_lines import wait_command
from pulumi_dicom_jobs.failures import resource_words

__all__ = ["Options", "Seconds", "FLAG_OF", "COMMON_PATHS", "cli_words", "api_options", "wait_options", "job_options",
           "options_from"]

#: Resource property path -> the flag or argument that sets it (for messages), from the spec.
FLAG_OF: dict[str, str] = {**spec.cli_flags(spec.IMPORT_JOB), **spec.cli_flags(spec.EXPORT_JOB)}
#: The CLI's own settings a job message can name, beside the resources' inputs.
_CLI_ONLY_FLAGS = {"cancel_on_timeout": "--cancel-on-timeout"}


def cli_words(name: str, value: Any) -> str:
    """An input as the CLI writes it in a message: ``--timeout 60``, ``--force``, ``without --cancel-on-timeout``.

    The job layer's messages name the resources' inputs (``timeout_seconds=60``);
    :meth:`~pulumi_dicom_jobs.failures.JobFailed.in_words` rewrites them with this.
    """
    flag = FLAG_OF.get(name) or _CLI_ONLY_FLAGS.get(name)
    if flag is None or not flag.startswith("--"):
        return resource_words(name, value)
    if isinstance(value, bool):
        return flag if value else f"without {flag}"
    shown = f"{value:g}" if isinstance(value, (int, float)) else value
    return f"{flag} {shown}"


#: The inputs every command sets with a flag (``--api-version``, ``--timeout``...).
COMMON_PATHS = tuple(item.name for item in spec.COMMON_INPUTS if (item.cli or "").startswith("--"))


@dataclass
class Options:
    api_version: str = api_facts.DEFAULT_API_VERSION
    api_endpoint: Optional[str] = None
    as_json: bool = False
    timeout: Optional[float] = None
    max_failed_instances: Optional[int] = None
    run_async: bool = False
    cancel_on_interrupt: bool = False
    cancel_on_timeout: bool = True
    progress: bool = True

    def common_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {"api_version": self.api_version}
        if self.api_endpoint is not None:
            props["api_endpoint"] = self.api_endpoint
        if self.timeout is not None:
            props["timeout_seconds"] = self.timeout
        if self.max_failed_instances is not None:
            props["max_failed_instances"] = self.max_failed_instances
        return props

    @property
    def timeout_seconds(self) -> float:
        return float(self.timeout) if self.timeout is not None else float(spec.DEFAULT_TIMEOUT_SECONDS)

    @property
    def max_failed(self) -> int:
        return int(self.max_failed_instances or 0)

    def resume_command(self, name: str) -> str:
        """The ``dicom-jobs wait`` line that resumes waiting for ``name`` with these options."""
        return wait_command(name, self.api_version, self.api_endpoint)


class Seconds(click.ParamType):
    """A number of seconds; whole numbers stay ints so messages match the resources' check."""

    name = "seconds"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Any:
        if isinstance(value, (int, float)):
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return int(number) if number.is_integer() else number


def api_options(func: Callable) -> Callable:
    func = click.option("--json", "as_json", is_flag=True,
                        help="Print the final operation summary as JSON on stdout "
                             "(progress goes to stderr).")(func)
    func = click.option("--endpoint", "api_endpoint", metavar="URL", default=None,
                        help=f"API endpoint [default: {api_facts.DEFAULT_ENDPOINT}]; "
                             "HEALTHCARE_EMULATOR_HOST wins over it.")(func)
    func = click.option("--api-version", default=api_facts.DEFAULT_API_VERSION, show_default=True,
                        metavar="|".join(api_facts.API_VERSIONS),
                        help="Cloud Healthcare API version.")(func)
    return func


def wait_options(func: Callable) -> Callable:
    func = click.option("--no-progress", "no_progress", is_flag=True,
                        help="Show no progress while waiting.")(func)
    func = click.option("--cancel-on-interrupt", is_flag=True,
                        help="On Ctrl-C, cancel the operation without asking.")(func)
    func = click.option("--max-failed-instances", type=int, default=None, metavar="N",
                        help="Succeed even when up to N instances fail [default: 0].")(func)
    func = click.option("--timeout", type=Seconds(), default=None, metavar="SECONDS",
                        help=f"Give up after this many seconds "
                             f"[default: {spec.DEFAULT_TIMEOUT_SECONDS}].")(func)
    return func


def job_options(func: Callable) -> Callable:
    func = click.option("--async", "run_async", is_flag=True,
                        help="Print the operation name and return at once.")(func)
    return wait_options(api_options(func))


def options_from(**kwargs: Any) -> Options:
    """The :class:`Options` of a command's keyword arguments (click's parameters)."""
    return Options(
        api_version=kwargs.get("api_version") or api_facts.DEFAULT_API_VERSION,
        api_endpoint=kwargs.get("api_endpoint"),
        as_json=bool(kwargs.get("as_json")),
        timeout=kwargs.get("timeout"),
        max_failed_instances=kwargs.get("max_failed_instances"),
        run_async=bool(kwargs.get("run_async")),
        cancel_on_interrupt=bool(kwargs.get("cancel_on_interrupt")),
        cancel_on_timeout=kwargs.get("cancel_on_timeout", True),
        progress=not kwargs.get("no_progress"),
    )
