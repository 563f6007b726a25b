"""How a ``dicom-jobs`` command runs a job: check the flags, start, wait, and Ctrl-C.

Why its own module: the commands only gather their flags; checking them by
the resources' rules and building the request as the resources do
(:func:`pulumi_dicom_jobs.lifecycle.check` and
:func:`~pulumi_dicom_jobs.lifecycle.job_request`), running the job
(:mod:`pulumi_dicom_jobs.jobs`), showing progress and handling an interrupt
(ask, cancel, or leave the operation running and print how to resume) are
the same for every command and happen here. Nothing here talks HTTP or
judges an operation itself.
"""

from __future__ import annotations

import sys
from typing import NoReturn, Optional

import click

from pulumi_dicom_jobs import jobs, lifecycle, names, spec, validation
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.errors import HealthcareApiError
from pulumi_dicom_jobs.cli.options import COMMON_PATHS, Options
from pulumi_dicom_jobs.cli.outcomes import EXIT_INTERRUPTED, EXIT_OK
from pulumi_dicom_jobs.cli.output import (api_failed, bad_input, err, finish, job_failed, out, print_json,
                                          succeeded, summary, table_exists_hint)
from pulumi_dicom_jobs.cli.progress import Reporter, make_reporter
from pulumi_dicom_jobs.command_lines import status_command
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.progress_text import RESTART_VERB

__all__ = ["check_common", "check_operation_name", "client_for", "wait_for", "run_job", "CANCEL_SETTLE_SECONDS"]

#: How long, after a Ctrl-C cancel, to wait for the operation to stop.
CANCEL_SETTLE_SECONDS = 60.0


def check_common(opts: Options) -> None:
    """The resources' rules for the flags every command shares (no store involved)."""
    failures = [f for f in validation.check_import(opts.common_props()) if f[0] in COMMON_PATHS]
    if failures:
        bad_input(failures, opts)


def check_operation_name(name: str, opts: Options) -> None:
    if not names.is_operation_name(name):
        bad_input([("OPERATION", f"{name!r} is not an operation name: expected "
                                 "projects/PROJECT/locations/LOCATION/datasets/DATASET/operations/ID")],
                  opts)


def client_for(opts: Options) -> HealthcareClient:
    return HealthcareClient(opts.api_endpoint, opts.api_version)


def _reporter(opts: Options, kind: str) -> Reporter:
    # with --json, stdout carries only the JSON document: progress goes to stderr
    stream = sys.stderr if opts.as_json else sys.stdout
    return make_reporter(stream, kind, enabled=opts.progress)


def _on_interrupt(client: HealthcareClient, name: Optional[str], opts: Options,
                  reporter: Reporter) -> NoReturn:
    """Ctrl-C while a job runs: ask (in a terminal) whether to cancel, then cancel or say how to resume."""
    reporter.stop()
    err("")
    if name is None:
        err("Interrupted while starting the job: it may or may not have started. "
            "List the dataset's operations to find out.")
        finish(EXIT_INTERRUPTED)
    cancel = opts.cancel_on_interrupt
    if not cancel and sys.stdin is not None and sys.stdin.isatty():
        try:
            cancel = click.confirm(f"Interrupted. Cancel operation {name}?", default=False, err=True)
        except (click.Abort, KeyboardInterrupt, EOFError):
            err("")
            cancel = False
    if not cancel:
        err(f"Interrupted; operation {name} is still running (not cancelled).\n"
            f"Resume waiting with: {opts.resume_command(name)}")
        if opts.as_json:
            print_json(summary(reporter.last, state="RUNNING", exit_code=EXIT_INTERRUPTED,
                               message="interrupted; operation left running", name=name))
        finish(EXIT_INTERRUPTED)
    try:
        jobs.cancel_operation(client, name)
        err(f"Cancellation requested for {name}; waiting for it to stop...")
        status = jobs.wait(client, name, timeout_seconds=CANCEL_SETTLE_SECONDS,
                           max_failed_instances=opts.max_failed, cancel_on_timeout=False)
    except JobFailed as exc:
        job_failed(exc, opts, name)
    except HealthcareApiError as exc:
        api_failed(exc, opts, f"could not cancel {name}", name)
    except KeyboardInterrupt:
        err(f"Interrupted again; cancellation of {name} was requested. "
            f"Check with: {status_command(name)}")
        finish(EXIT_INTERRUPTED)
    err("The operation finished before the cancellation took effect.")
    succeeded(status, opts)


def wait_for(client: HealthcareClient, name: str, opts: Options, kind: str) -> NoReturn:
    """Wait for the running operation ``name`` with progress, and end the command by its verdict."""
    reporter = _reporter(opts, kind)
    try:
        with reporter:
            reporter.started(name, "Waiting for")
            status = jobs.wait(client, name, timeout_seconds=opts.timeout_seconds,
                               max_failed_instances=opts.max_failed, on_progress=reporter.update,
                               cancel_on_timeout=opts.cancel_on_timeout)
    except KeyboardInterrupt:
        _on_interrupt(client, name, opts, reporter)
    except JobFailed as exc:
        job_failed(exc, opts, name)
    except HealthcareApiError as exc:
        api_failed(exc, opts, f"could not wait for {name}", name)
    succeeded(status, opts)


def run_job(opts: Options, props: dict, job_spec: spec.JobSpec) -> NoReturn:
    """Check ``props`` as the resource ``job_spec`` would, start the job; wait for it unless --async."""
    failures = lifecycle.check(job_spec, props)
    if failures:
        bad_input(failures, opts)
    request = lifecycle.job_request(job_spec, props)
    kind = request.kind.noun
    client = client_for(opts)
    if opts.run_async:
        try:
            name = jobs.start(client, request.kind, request.dicom_store, request.body)
        except JobFailed as exc:
            job_failed(exc, opts)
        except KeyboardInterrupt:
            _on_interrupt(client, None, opts, make_reporter(sys.stderr, kind, enabled=False))
        if opts.as_json:
            print_json({"name": name, "state": "RUNNING", "exitCode": EXIT_OK, "done": False})
        else:
            out(name)
        err(f"Started {kind} operation {name}\n"
            f"Wait for it: {opts.resume_command(name)}\n"
            f"Check it:    {status_command(name)}")
        finish(EXIT_OK)

    reporter = _reporter(opts, kind)
    current: dict[str, Optional[str]] = {"name": None}

    def on_started(name: str, verb: str = "Started") -> None:
        current["name"] = name
        reporter.started(name, verb)

    def on_restarted(name: str) -> None:
        # said with its cause, or the user sees a second "Started" line with no reason
        on_started(name, RESTART_VERB)

    try:
        with reporter:
            status = jobs.run_job(client, request.kind, request.dicom_store, request.body,
                                  timeout_seconds=opts.timeout_seconds,
                                  max_failed_instances=opts.max_failed,
                                  on_started=on_started, on_restarted=on_restarted,
                                  on_progress=reporter.update)
    except KeyboardInterrupt:
        _on_interrupt(client, current["name"], opts, reporter)
    except JobFailed as exc:
        hint = table_exists_hint(props["bigquery_destination"], exc.operation) \
            if request.kind is JobKind.EXPORT_BIGQUERY else None
        job_failed(exc, opts, current["name"], hint)
    except HealthcareApiError as exc:
        api_failed(exc, opts, f"the {kind} job could not be run", current["name"])
    succeeded(status, opts)
