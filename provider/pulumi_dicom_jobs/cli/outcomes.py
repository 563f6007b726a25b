"""The CLI's verdicts: exit codes and the state ``--json`` reports.

Why a module of its own: scripts branch on these codes (docs/cli.md, the
``Exit codes`` epilog of every command), so the decision is kept apart from
the printing in :mod:`pulumi_dicom_jobs.cli.output`, small enough that
``make mutate`` changes each rule and ``tests/cli/test_cli_exit_codes.py``
must notice.
"""

from __future__ import annotations

from typing import NamedTuple

from pulumi_dicom_jobs.lro.status import OperationStatus

__all__ = ["EXIT_API", "EXIT_BAD_INPUT", "EXIT_CANCELLED", "EXIT_CODES_HELP", "EXIT_ERROR", "EXIT_FAILED",
           "EXIT_INTERRUPTED", "EXIT_NOTHING_TO_CANCEL", "EXIT_OK", "EXIT_TIMEOUT", "ExitOutcome", "outcome_of", "state_of"]

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

EXIT_CODES_HELP = """\b
Exit codes:
  0    success (failed instances within --max-failed-instances)
  1    unexpected internal error
  2    bad input (usage error, or an input the resources' check rejects)
  3    the operation failed
  4    timeout (import/export cancel the operation)
  5    the operation was cancelled
  6    API problem (could not start, same kind of job already running,
       no such dataset or store, no credentials, unknown operation,
       unreachable)
  7    cancel: the operation had already finished, nothing was cancelled
  130  interrupted with Ctrl-C, operation left running
"""


class ExitOutcome(NamedTuple):
    """How a failed job ends the command: its exit code and its ``--json`` state."""

    code: int
    state: str


def outcome_of(reason: str) -> ExitOutcome:
    """The outcome of a :class:`~pulumi_dicom_jobs.failures.JobFailed` reason.

    A reason this table does not know is an internal error (exit 1): a new
    reason must be given its code here before a script can rely on it.
    """
    if reason == "invalid_input":
        return ExitOutcome(EXIT_BAD_INPUT, "INVALID_INPUT")
    if reason in ("operation_error", "too_many_failures"):
        return ExitOutcome(EXIT_FAILED, "FAILED")
    if reason == "timeout":
        return ExitOutcome(EXIT_TIMEOUT, "TIMED_OUT")
    if reason == "cancelled":
        return ExitOutcome(EXIT_CANCELLED, "CANCELLED")
    api_states = {"start_failed": "START_FAILED", "in_flight": "IN_FLIGHT", "vanished": "NOT_FOUND"}
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
