"""User-facing failure messages for DICOM jobs.

Why one module: the same failure is shown by ``pulumi up`` (through the
dynamic provider) and by the ``dicom-jobs`` CLI, and a useful message needs
the same parts every time: what failed (operation name), the API's error code
and text, the counters, a few sample errors, where the full log is, and, for
the most common first-run failure (the Healthcare service agent lacking a
role), what to grant and which helper grants it. ``str(JobFailed)`` is that
complete message; nothing in it comes from credentials.

A message that names one of the job's inputs (``timeout_seconds=60``,
``max_failed_instances=0``) names it as the resources do; each face can ask
for the same message in its own words (:meth:`JobFailed.in_words`: the CLI
writes ``--timeout 60``), so no face shows another's spelling.
"""

from __future__ import annotations

import enum
import re
from typing import Any, Callable, Optional, Sequence, Union

from pulumi_dicom_jobs import api_facts
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.status import OperationStatus, counters_text
from pulumi_dicom_jobs.targets import (ROLE_DATA_EDITOR, ROLE_JOB_USER, ROLE_OBJECT_ADMIN, ROLE_OBJECT_VIEWER,
                                       Grant, JobTargets)


class FailureReason(enum.StrEnum):
    """Why a job failed: :attr:`JobFailed.reason`, what each face maps to its outcome
    (the CLI's exit code and ``--json`` state, the plugin's status code).

    A ``str`` enum: each member is equal to (and formats as) its value, the
    spelling the faces have always used.
    """

    #: The inputs break a ``check`` rule: nothing was sent.
    INVALID_INPUT = "invalid_input"
    #: The API refused or could not take the start (or the in-flight check's listing).
    START_FAILED = "start_failed"
    #: Not started: an older operation of the same kind still runs in the dataset
    #: (maybe this job's own, from an interrupted run).
    IN_FLIGHT = "in_flight"
    #: The operation ended with an error of its own (no failed instance to blame).
    OPERATION_ERROR = "operation_error"
    #: More instances failed than ``max_failed_instances`` allows.
    TOO_MANY_FAILURES = "too_many_failures"
    #: ``timeout_seconds`` passed before the operation ended.
    TIMEOUT = "timeout"
    #: The operation ended cancelled.
    CANCELLED = "cancelled"
    #: The API no longer knows the operation (404).
    VANISHED = "vanished"
    #: The wait was asked to stop (Ctrl-C, the engine's Cancel).
    INTERRUPTED = "interrupted"


MAX_SAMPLE_ERRORS = 5

_AGENT_RE = re.compile(r"service-\d+@gcp-sa-healthcare\.iam\.gserviceaccount\.com")
_ROLE_RE = re.compile(r"roles/[A-Za-z0-9_.]+")
#: A Cloud Storage or BigQuery permission, as those services name the one the agent lacks.
_PERMISSION_RE = re.compile(r"\b(?:storage|bigquery)\.[A-Za-z]+\.[A-Za-z]+\b")
_AGENT_PATTERN = "service-PROJECT_NUMBER@gcp-sa-healthcare.iam.gserviceaccount.com"
#: Which helper in :mod:`pulumi_dicom_jobs.gcp.grants` grants which role.
_GRANT_HELPERS = {
    ROLE_OBJECT_VIEWER: "pulumi_dicom_jobs.gcp.grants.import_source_grants "
                        "(or filter_file_grants for an export's filter file)",
    ROLE_OBJECT_ADMIN: "pulumi_dicom_jobs.gcp.grants.gcs_export_grants",
    ROLE_DATA_EDITOR: "pulumi_dicom_jobs.gcp.grants.bigquery_export_grants",
    ROLE_JOB_USER: "pulumi_dicom_jobs.gcp.grants.bigquery_export_grants",
}


#: How a face writes one of a job's inputs and its value in a message: (input name, value) -> text.
InputWords = Callable[[str, Any], str]


def resource_words(name: str, value: Any) -> str:
    """The resources' words for an input: ``timeout_seconds=60``, ``cancel_on_timeout=False``."""
    shown = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    return f"{name}={shown}"


#: A message, or how to write it given a face's :data:`InputWords`.
Message = Union[str, Callable[[InputWords], str]]


class JobFailed(Exception):
    """A job could not be started or did not succeed; ``str(exc)`` says it all.

    ``message`` is the text, or a function writing it with a face's words for
    the inputs it names; ``str(exc)`` uses :func:`resource_words`.
    """

    def __init__(self, reason: FailureReason | str, message: Message,
                 operation: Optional[OperationStatus] = None) -> None:
        try:
            self.reason = FailureReason(reason)
        except ValueError:
            raise ValueError(f"unknown JobFailed reason {reason!r}") from None
        self._write: Callable[[InputWords], str] = message if callable(message) else (lambda _words: message)
        super().__init__(self._write(resource_words))
        self.operation = operation

    def in_words(self, words: InputWords) -> str:
        """The same message with the inputs it names written by ``words`` (a face's own spelling)."""
        return self._write(words)


class OperationNotFound(JobFailed):
    """The API no longer knows the operation (404)."""

    def __init__(self, name: str) -> None:
        super().__init__(FailureReason.VANISHED,
                         f"operation {name} is not known to the API (404): it expired or was deleted", None)
        self.name = name


class JobInFlight(JobFailed):
    """Not started: older operations of the same kind still run in the dataset.

    The message ends with what to do next (wait for or cancel ``blocking``,
    then run again). How to wait or cancel is a face's business (a CLI
    command, a console link): :meth:`with_commands` returns the same failure
    with the face's commands written into that sentence.
    """

    def __init__(self, lines: Sequence[str], blocking: Sequence[str], check_knob: str,
                 commands: Optional[tuple[str, str]] = None) -> None:
        self.lines = tuple(lines)
        self.blocking = tuple(blocking)
        self.check_knob = check_knob
        self.commands = commands
        super().__init__(FailureReason.IN_FLIGHT, "\n".join([*self.lines, self._next_steps()]))

    @property
    def operation_ref(self) -> str:
        """The operation to name in a command: the one blocking, else a placeholder."""
        return self.blocking[0] if len(self.blocking) == 1 else "OPERATION"

    def with_commands(self, wait: str, cancel: str) -> "JobInFlight":
        """The same failure, naming ``wait`` and ``cancel`` as the ways to proceed."""
        return JobInFlight(self.lines, self.blocking, self.check_knob, (wait, cancel))

    def _next_steps(self) -> str:
        wait, cancel = (f" ({command})" for command in self.commands) if self.commands else ("", "")
        return (f"To proceed: wait for {'it' if len(self.blocking) == 1 else 'each'} to finish{wait} "
                f"or cancel it{cancel}, then run again. If these are unrelated jobs you mean to run "
                f"concurrently in this dataset, set {self.check_knob}=off.")


def code_name(code: Optional[int]) -> str:
    if code is None:
        return "UNKNOWN"
    return api_facts.RPC_CODE_NAMES.get(code, f"CODE_{code}")


def permission_hint(message: str, targets: Optional[JobTargets] = None) -> Optional[str]:
    """A hint naming the role to grant, where, and to whom, for a denial of the service agent.

    Cloud Storage and BigQuery name the missing *permission*
    (``storage.objects.list``, ``bigquery.tables.create``); with the job's
    ``targets`` (its kind, buckets and dataset) that becomes the role and the
    bucket, dataset or project to grant it on. A message naming a role is
    answered with that role. None when the message is no such denial.
    """
    text = message or ""
    agent = _AGENT_RE.search(text)
    role_match = _ROLE_RE.search(text)
    permission = _PERMISSION_RE.search(text)
    grants: list[Grant] = []
    if role_match:
        role = role_match.group(0)
        grants = [Grant(role, (targets.where_for(role) if targets else None) or "")]
    elif permission and targets is not None:
        grants = targets.grants_for(permission.group(0))
    if not agent and not grants:
        return None
    member = f"serviceAccount:{agent.group(0) if agent else _AGENT_PATTERN}"
    who = f"The Cloud Healthcare Service Agent {agent.group(0) if agent else '(' + _AGENT_PATTERN + ')'}"
    if not grants:
        return (f"Hint: {who} does the reading and writing; grant the missing role to {member} on "
                f"the resource named above (see the helpers in pulumi_dicom_jobs.gcp.grants). Fresh "
                "grants can take a few minutes to take effect.")
    what = " and ".join(f"{g.role} on {g.where}" if g.where else g.role for g in grants)
    where = "" if all(g.where for g in grants) else " on the resource named above"
    helper = _GRANT_HELPERS.get(grants[0].role, "the helpers in pulumi_dicom_jobs.gcp.grants")
    if grants[0].role == ROLE_OBJECT_VIEWER and targets is not None and targets.kind.is_export:
        helper = "pulumi_dicom_jobs.gcp.grants.filter_file_grants"  # an export reads only its filter file
    return (f"Hint: {who} does the reading and writing; grant {what} to {member}{where} "
            f"(see {helper}). Fresh grants can take a few minutes to take effect.")


def describe_operation(status: OperationStatus, targets: Optional[JobTargets] = None) -> list[str]:
    """The counter, error, sample-error and log lines for an operation (``targets``: what
    the job touches, for the permission hint)."""
    lines = [f"counters: {counters_text(status)}"]
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
    hint = permission_hint(status.error_message, targets) \
        if status.error_code == api_facts.CODE_PERMISSION_DENIED else None
    if hint:
        lines.append(hint)
    return lines


def _as_int(value: object) -> Optional[int]:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def what_stays(status: OperationStatus) -> str:
    """What a cancelled operation leaves behind: a cancel stops the job, it does not roll back."""
    kind = JobKind.of_method_name(status.api_method_name)
    done = status.success
    if kind is not None and not kind.is_export:
        where = f"the {done} instance(s) imported before the cancel stay in the store"
    elif kind is JobKind.EXPORT_BIGQUERY:
        where = f"the rows of the {done} instance(s) exported before the cancel stay in the table"
    elif kind is not None:
        where = f"the {done} instance(s) exported before the cancel stay written in the destination"
    else:
        where = f"the {done} instance(s) processed before the cancel stay where they were written"
    return f"A cancel does not roll back: {where}."


def operation_failure(reason: FailureReason, headline: Message, status: OperationStatus,
                      targets: Optional[JobTargets] = None) -> JobFailed:
    """A :class:`JobFailed` whose message is ``headline`` plus the operation's details.

    The operation is named once: appended as ``(operation NAME)`` unless the
    headline already names it. A cancelled operation (``reason`` cancelled, or
    a timeout whose cancel was requested) ends with :func:`what_stays`.
    """
    details = describe_operation(status, targets)
    if reason is FailureReason.CANCELLED or (reason is FailureReason.TIMEOUT and status.cancel_requested):
        details.append(what_stays(status))

    def write(words: InputWords) -> str:
        first = headline(words) if callable(headline) else headline
        if not (status.name and status.name in first):
            first = f"{first} (operation {status.name})"
        return "\n".join([first, *details])

    return JobFailed(reason, write, status)
