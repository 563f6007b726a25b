"""What ``dicom-jobs`` prints and how it ends: the summaries, the verdicts, the exit.

Why its own module: every command ends the same few ways (succeeded, a job
failure, an API problem, bad input), each with a human line on stderr or
stdout, the ``--json`` document on stdout, and an exit code decided in
:mod:`pulumi_dicom_jobs.cli.outcomes`. Written once here, every command and
the job runner glue (:mod:`pulumi_dicom_jobs.cli.runner`) end alike.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Mapping, NoReturn, Optional

import click

from pulumi_dicom_jobs import api_facts
from pulumi_dicom_jobs.cli.options import FLAG_OF, Options, cli_words
from pulumi_dicom_jobs.cli.outcomes import (EXIT_API, EXIT_BAD_INPUT, EXIT_NOTHING_TO_CANCEL, EXIT_OK, outcome_of,
                                            state_of)
from pulumi_dicom_jobs.cli.progress import kind_of
from pulumi_dicom_jobs.command_lines import with_commands
from pulumi_dicom_jobs.failures import JobFailed, OperationNotFound, describe_operation
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.progress_text import format_duration, operation_duration

#: Said under an import that succeeded having counted nothing: the service gives no reason,
#: and the two it may have are the ones docs/lifecycle.md names (no source says which).
NOTHING_COUNTED = ("Nothing was counted: every instance may already have been in the DICOM store (an import "
                   "ignores a duplicate, and may not count it), or the source pattern may have matched no "
                   "object; list what it matches with `gcloud storage ls` (docs/lifecycle.md#what-the-counters-say)")

__all__ = ["NOTHING_COUNTED", "out", "err", "finish", "print_json", "summary", "describe", "succeeded", "job_failed",
           "api_failed", "bad_input", "nothing_cancelled", "table_exists_hint"]


def out(text: str = "") -> None:
    click.echo(text)


def err(text: str) -> None:
    click.echo(text, err=True)


def finish(code: int) -> NoReturn:
    sys.exit(code)


def print_json(data: dict) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def summary(status: Optional[OperationStatus], *, state: str, exit_code: int,
            message: Optional[str] = None, name: Optional[str] = None) -> dict:
    """The ``--json`` document: the operation's facts plus the CLI's verdict."""
    data: dict[str, Any] = {"state": state, "exitCode": exit_code, "message": message,
                            "name": status.name if status else name}
    if status is not None:
        data.update({
            "done": status.done,
            "kind": kind_of(status, default=""),
            "apiMethodName": status.api_method_name,
            "createTime": status.create_time,
            "endTime": status.end_time,
            "durationSeconds": operation_duration(status),
            "counter": {"success": status.success, "failure": status.failure,
                        "pending": status.pending},
            "logsUrl": status.logs_url,
            "cancelRequested": status.cancel_requested,
            "error": status.error,
            "sampleErrors": status.sample_errors(),
        })
    return data


def describe(status: OperationStatus) -> list[str]:
    """``dicom-jobs status``'s lines for one snapshot."""
    lines = [f"name: {status.name}", f"kind: {kind_of(status, default='unknown')}",
             f"state: {state_of(status)}"]
    if status.create_time:
        lines.append(f"created: {status.create_time}")
    if status.end_time:
        lines.append(f"ended: {status.end_time} "
                     f"(took {format_duration(operation_duration(status))})")
    if status.cancel_requested:
        lines.append("cancel requested: yes")
    return lines + describe_operation(status)


def succeeded(status: OperationStatus, opts: Options) -> NoReturn:
    if opts.as_json:
        print_json(summary(status, state="SUCCEEDED", exit_code=EXIT_OK))
    else:
        took = format_duration(operation_duration(status))
        out(f"Operation {status.name} succeeded in {took}: {status.success} instance(s) "
            f"succeeded, {status.failure} failed.")
        if status.processed == 0 and kind_of(status) == "import":
            out(NOTHING_COUNTED)
        if status.failure:
            out(f"{status.failure} failed instance(s) allowed by --max-failed-instances="
                f"{opts.max_failed}.")
            for line in describe_operation(status)[1:]:
                out(line)
        elif status.logs_url:
            out(f"logs: {status.logs_url}")
    finish(EXIT_OK)


def job_failed(exc: JobFailed, opts: Options, name: Optional[str] = None, hint: Optional[str] = None) -> NoReturn:
    code, state = outcome_of(exc.reason)
    exc = with_commands(exc, opts.api_version)
    message = not_found_message(exc.name) if isinstance(exc, OperationNotFound) else exc.in_words(cli_words)
    if hint:
        message += f"\n{hint}"
    err(f"Error: {message}")
    if opts.as_json:
        print_json(summary(exc.operation, state=state, exit_code=code, message=message, name=name))
    finish(code)


def table_exists_hint(bigquery_destination: Mapping[str, Any], status: Optional[OperationStatus]) -> Optional[str]:
    """What to run again with when an export to BigQuery failed on an existing table, in the CLI's flags.

    The API's message names its own fields (``writeDisposition``, ``force``): a
    re-run needs ``--write-disposition`` or ``--force``.
    """
    if status is None or status.error_code != api_facts.CODE_ALREADY_EXISTS \
            or bigquery_destination.get("write_disposition") or bigquery_destination.get("force"):
        return None
    disposition = FLAG_OF["bigquery_destination.write_disposition"]
    force = FLAG_OF["bigquery_destination.force"]
    return (f"Hint: the table exists, and without {disposition} or {force} an export only creates a new "
            f"table: run again with {disposition} WRITE_TRUNCATE (replace its rows), WRITE_APPEND (add to "
            f"them) or WRITE_EMPTY (only if it is empty), or with {force} (overwrite it).")


def not_found_message(name: str) -> str:
    """An operation name the API does not know: at a command line, most likely mistyped or cut short."""
    parts = name.split("/")  # projects/P/locations/L/datasets/D/operations/ID (checked before any request)
    project, location, dataset = parts[1], parts[3], parts[5]
    return (f"operation {name} was not found (the API answered 404). Check the name for a typo: import and "
            f"export print it (\"Started import operation NAME\"), and `gcloud healthcare operations list "
            f"--project={project} --location={location} --dataset={dataset}` lists the dataset's operations. "
            "If the name is right, the operation has expired or was deleted.")


def api_failed(exc: BaseException, opts: Options, what: str, name: Optional[str] = None) -> NoReturn:
    message = f"{what}: {exc}"
    err(f"Error: {message}")
    if opts.as_json:
        print_json(summary(None, state="API_ERROR", exit_code=EXIT_API, message=message, name=name))
    finish(EXIT_API)


def bad_input(failures: list[tuple[str, str]], opts: Options) -> NoReturn:
    err("Error: invalid input:")
    for path, reason in failures:
        flag = FLAG_OF.get(path)
        err(f"  {path}{f' ({flag})' if flag else ''}: {reason}")
    if opts.as_json:
        data = summary(None, state="INVALID_INPUT", exit_code=EXIT_BAD_INPUT,
                       message="; ".join(f"{p}: {r}" for p, r in failures))
        data["errors"] = [{"property": p, "reason": r} for p, r in failures]
        print_json(data)
    finish(EXIT_BAD_INPUT)


def nothing_cancelled(status: OperationStatus, opts: Options, *, sent: bool) -> NoReturn:
    """``cancel`` of an operation that had finished (before the request, or before the cancel took effect)."""
    state = state_of(status)
    message = (f"Operation {status.name} finished before the cancel took effect (state: {state}): "
               "nothing was cancelled." if sent else
               f"Operation {status.name} had already finished (state: {state}): no cancel was sent.")
    if opts.as_json:
        print_json(summary(status, state=state, exit_code=EXIT_NOTHING_TO_CANCEL, message=message))
    else:
        out(message)
        out(f"Details: dicom-jobs status {status.name}")
    finish(EXIT_NOTHING_TO_CANCEL)
