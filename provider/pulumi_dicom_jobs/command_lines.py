"""``dicom-jobs`` command lines that other messages point users to.

Why its own module, below the faces and without click or rich: the job
runner speaks no CLI syntax, yet a failure such as "an older operation still
runs" is most useful with the command that waits for or cancels it. Every
face (the CLI, the dynamic provider, the provider plugin) adds these to its
messages through :func:`with_commands`, and none of them may import another
face. The CLI's own lines (resume waiting after Ctrl-C, check an operation)
are written here too, so each command is spelled once.
"""

from __future__ import annotations

from typing import Optional

from pulumi_dicom_jobs import api_facts
from pulumi_dicom_jobs.failures import JobFailed, JobInFlight

__all__ = ["wait_command", "cancel_command", "status_command", "wait_and_cancel_commands", "with_commands"]


def _flags(api_version: str, endpoint: Optional[str] = None) -> str:
    """`` --api-version V`` unless the default, `` --endpoint URL`` when given."""
    flags = "" if api_version == api_facts.DEFAULT_API_VERSION else f" --api-version {api_version}"
    return flags + (f" --endpoint {endpoint}" if endpoint else "")


def wait_command(operation: str, api_version: str = api_facts.DEFAULT_API_VERSION,
                 endpoint: Optional[str] = None) -> str:
    """``dicom-jobs wait OPERATION`` (with a non-default API version, and an endpoint when given)."""
    return f"dicom-jobs wait {operation}{_flags(api_version, endpoint)}"


def cancel_command(operation: str, api_version: str = api_facts.DEFAULT_API_VERSION) -> str:
    """``dicom-jobs cancel OPERATION`` (with a non-default API version)."""
    return f"dicom-jobs cancel {operation}{_flags(api_version)}"


def status_command(operation: str) -> str:
    """``dicom-jobs status OPERATION``."""
    return f"dicom-jobs status {operation}"


def wait_and_cancel_commands(operation: str, api_version: str) -> tuple[str, str]:
    """``dicom-jobs wait OPERATION`` and ``dicom-jobs cancel OPERATION`` (with a non-default API version)."""
    return wait_command(operation, api_version), cancel_command(operation, api_version)


def with_commands(failure: JobFailed, api_version: str) -> JobFailed:
    """``failure``, naming the commands that wait for or cancel the older job when that job kept
    this one from starting (a :class:`~pulumi_dicom_jobs.failures.JobInFlight`); else as it is."""
    if isinstance(failure, JobInFlight):
        return failure.with_commands(*wait_and_cancel_commands(failure.operation_ref, api_version))
    return failure
