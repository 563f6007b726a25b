"""User-facing failure messages for DICOM jobs.

Why one module: the same failure is shown by ``pulumi up`` (through the
dynamic provider) and by the ``dicom-jobs`` CLI, and a useful message needs
the same parts every time: what failed (operation name), the API's error code
and text, the counters, a few sample errors, where the full log is, and, for
the most common first-run failure (the Healthcare service agent lacking a
role), what to grant and which helper grants it. ``str(JobFailed)`` is that
complete message; nothing in it comes from credentials.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from pulumi_dicom_jobs import apischema

if TYPE_CHECKING:
    from pulumi_dicom_jobs.operations import OperationStatus

#: Allowed values of :attr:`JobFailed.reason`.
#: ``in_flight``: not started because an older operation of the same kind still
#: runs in the dataset (maybe this job's own, from an interrupted run).
REASONS = ("invalid_input", "start_failed", "in_flight", "operation_error", "too_many_failures",
           "timeout", "cancelled", "vanished")
MAX_SAMPLE_ERRORS = 5

_AGENT_RE = re.compile(r"service-\d+@gcp-sa-healthcare\.iam\.gserviceaccount\.com")
_ROLE_RE = re.compile(r"roles/[A-Za-z0-9_.]+")
#: Which helper in :mod:`pulumi_dicom_jobs.gcp.grants` grants which role.
_GRANT_HELPERS = {
    "roles/storage.objectViewer": "pulumi_dicom_jobs.gcp.grants.import_source_grants "
                                  "(or filter_file_grants for an export's filter file)",
    "roles/storage.objectAdmin": "pulumi_dicom_jobs.gcp.grants.gcs_export_grants",
    "roles/bigquery.dataEditor": "pulumi_dicom_jobs.gcp.grants.bigquery_export_grants",
    "roles/bigquery.jobUser": "pulumi_dicom_jobs.gcp.grants.bigquery_export_grants",
}


class JobFailed(Exception):
    """A job could not be started or did not succeed; ``str(exc)`` says it all."""

    def __init__(self, reason: str, message: str, operation: "Optional[OperationStatus]" = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown JobFailed reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.operation = operation


def code_name(code: Optional[int]) -> str:
    if code is None:
        return "UNKNOWN"
    return apischema.RPC_CODE_NAMES.get(code, f"CODE_{code}")


def permission_hint(message: str) -> Optional[str]:
    """A hint naming the role to grant, when ``message`` names the service agent."""
    agent = _AGENT_RE.search(message or "")
    if not agent:
        return None
    role_match = _ROLE_RE.search(message)
    role = role_match.group(0) if role_match else None
    helper = _GRANT_HELPERS.get(role or "", "the helpers in pulumi_dicom_jobs.gcp.grants")
    what = f"grant {role}" if role else "grant the missing role"
    return (f"Hint: the Cloud Healthcare Service Agent {agent.group(0)} does the reading and writing; "
            f"{what} to serviceAccount:{agent.group(0)} on the resource named above "
            f"(see {helper}). Fresh grants can take a few minutes to take effect.")


def describe_operation(status: "OperationStatus") -> list[str]:
    """The counter, error, sample-error and log lines for an operation."""
    lines = [f"counters: success={status.success} failure={status.failure} pending={status.pending}"]
    if status.error:
        lines.append(f"error: {code_name(status.error_code)} (code {status.error_code}): "
                     f"{status.error_message}")
    samples = status.sample_errors()
    if samples:
        shown = samples[:MAX_SAMPLE_ERRORS]
        lines.append(f"sample errors ({len(shown)} of {len(samples)} reported):")
        for sample in shown:
            err = sample.get("error") or {}
            lines.append(f"  - {sample.get('resource', '?')}: {code_name(_as_int(err.get('code')))}: "
                         f"{err.get('message', '')}")
    if status.logs_url:
        lines.append(f"logs: {status.logs_url}")
    hint = permission_hint(status.error_message) if status.error_code == apischema.CODE_PERMISSION_DENIED else None
    if hint:
        lines.append(hint)
    return lines


def _as_int(value: object) -> Optional[int]:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def operation_failure(reason: str, headline: str, status: "OperationStatus") -> JobFailed:
    """A :class:`JobFailed` whose message is ``headline`` plus the operation's details.

    The operation is named once: appended as ``(operation NAME)`` unless the
    headline already names it.
    """
    first = headline if status.name and status.name in headline else f"{headline} (operation {status.name})"
    text = "\n".join([first, *describe_operation(status)])
    return JobFailed(reason, text, status)
