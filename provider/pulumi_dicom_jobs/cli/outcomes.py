"""The CLI's verdicts: exit codes and the state ``--json`` reports.

Why a module of its own: scripts branch on these codes (:data:`EXIT_CODES`,
the one table of them: the ``Exit codes`` epilog of every command is written
from it and docs/cli.md's is checked against it), so the decision is kept
apart from the printing in :mod:`pulumi_dicom_jobs.cli.output`, small enough
that ``make mutate`` changes each rule and ``tests/cli/test_cli_exit_codes.py``
must notice.
"""

from __future__ import annotations

import textwrap
from typing import NamedTuple

from pulumi_dicom_jobs.failures import FailureReason
from pulumi_dicom_jobs.lro.status import OperationStatus

__all__ = ["EXIT_API", "EXIT_BAD_INPUT", "EXIT_CANCELLED", "EXIT_CODES", "EXIT_CODES_HELP", "EXIT_ERROR",
           "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_NOTHING_TO_CANCEL", "EXIT_OK", "EXIT_TIMEOUT", "ExitOutcome",
           "outcome_of", "state_of"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_FAILED = 3
EXIT_TIMEOUT = 4
EXIT_CANCELLED = 5
EXIT_API = 6
#: ``cancel`` of an operation that had already finished: no cancel was sent (or it came too late).
EXIT_NOTHING_TO_CANCEL = 7
EXIT_INTERRUPTED = 130

#: Every exit code and what it means: the one table the commands' ``Exit codes`` epilog
#: (:data:`EXIT_CODES_HELP`) is written from and docs/cli.md's table is checked against.
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "success (failed instances within --max-failed-instances)"),
    (EXIT_ERROR, "unexpected internal error"),
    (EXIT_BAD_INPUT, "bad input (usage error, or an input the resources' check rejects)"),
    (EXIT_FAILED, "the operation failed"),
    (EXIT_TIMEOUT, "timeout (import/export cancel the operation)"),
    (EXIT_CANCELLED, "the operation was cancelled"),
    (EXIT_API, "API problem (could not start, same kind of job already running, no such dataset or "
               "store, no credentials, unknown operation, unreachable)"),
    (EXIT_NOTHING_TO_CANCEL, "cancel: the operation had already finished, nothing was cancelled"),
    (EXIT_INTERRUPTED, "interrupted with Ctrl-C, operation left running"),
)
#: How wide a meaning runs in the epilog before it wraps.
_HELP_WIDTH = 65


def _exit_codes_help() -> str:
    """The ``Exit codes`` epilog of :data:`EXIT_CODES` (``\\b``: click keeps its lines as they are)."""
    lines = ["\b", "Exit codes:"]
    for code, meaning in EXIT_CODES:
        first, *more = textwrap.wrap(meaning, _HELP_WIDTH)
        lines.append(f"  {code:<4} {first}")
        lines.extend(f"       {line}" for line in more)
    return "\n".join(lines) + "\n"


EXIT_CODES_HELP = _exit_codes_help()


class ExitOutcome(NamedTuple):
    """How a failed job ends the command: its exit code and its ``--json`` state."""

    code: int
    state: str


def outcome_of(reason: FailureReason | str) -> ExitOutcome:
    """The outcome of a :class:`~pulumi_dicom_jobs.failures.JobFailed` reason.

    A reason this table does not know is an internal error (exit 1): a new
    reason must be given its code here before a script can rely on it.
    """
    if reason == FailureReason.INVALID_INPUT:
        return ExitOutcome(EXIT_BAD_INPUT, "INVALID_INPUT")
    if reason in (FailureReason.OPERATION_ERROR, FailureReason.TOO_MANY_FAILURES):
        return ExitOutcome(EXIT_FAILED, "FAILED")
    if reason == FailureReason.TIMEOUT:
        return ExitOutcome(EXIT_TIMEOUT, "TIMED_OUT")
    if reason == FailureReason.CANCELLED:
        return ExitOutcome(EXIT_CANCELLED, "CANCELLED")
    api_states = {FailureReason.START_FAILED: "START_FAILED", FailureReason.IN_FLIGHT: "IN_FLIGHT",
                  FailureReason.VANISHED: "NOT_FOUND"}
    if reason in api_states:
        return ExitOutcome(EXIT_API, api_states[reason])
    return ExitOutcome(EXIT_ERROR, "ERROR")


def state_of(status: OperationStatus) -> str:
    """RUNNING, CANCELLING, SUCCEEDED, CANCELLED or FAILED (as the API reports it)."""
    if not status.done:
        return "CANCELLING" if status.cancel_requested else "RUNNING"
    if status.error is None:
        return "SUCCEEDED"
    return "CANCELLED" if status.error_code == 1 else "FAILED"
