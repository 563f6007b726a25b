"""``dicom-jobs``: start, watch and cancel Cloud Healthcare DICOM import/export jobs.

The command line face of the same job runner the Pulumi resources use: flags
become the resources' inputs (``dicom_store``, ``gcs_source``, ...), which are
checked by :mod:`pulumi_dicom_jobs.validation` (the same rules and messages
as the resources' ``check``), turned into a request body by
:mod:`pulumi_dicom_jobs.requests_body` and run by
:mod:`pulumi_dicom_jobs.jobs`. Nothing here talks HTTP or judges an
operation itself; the exit codes are decided in
:mod:`pulumi_dicom_jobs.cli.outcomes`.

Commands::

    dicom-jobs import STORE gs://BUCKET/PATH [--blob-storage-class CLASS]
    dicom-jobs export gcs STORE gs://BUCKET/PREFIX [--mime-type TYPE] [--filter gs://...]
    dicom-jobs export bq STORE bq://PROJECT.DATASET.TABLE [--write-disposition D | --force]
                          [--include-source-store] [--schema flattened|json] [--filter gs://...]

gcloud's spellings work too, so a command copied from Google's guides runs:
``--write-disposition write-empty|write-truncate|write-append`` and
``--overwrite-table`` (the same as ``--force``).
    dicom-jobs wait OPERATION      wait for a running operation (e.g. after --async)
    dicom-jobs status OPERATION    one snapshot of an operation
    dicom-jobs cancel OPERATION    ask the API to cancel an operation [--wait]

``HEALTHCARE_EMULATOR_HOST`` (``host:port``) wins over ``--endpoint``, as for
the resources. Credentials come from ``GOOGLE_OAUTH_ACCESS_TOKEN`` or
Application Default Credentials; they are never printed. None found is an
API problem (exit 6) whose message says how to get them. Each retried
request is shown on stderr (``dicom-jobs: retry ...``).

Exit codes:

===  ==========================================================================
0    success (the operation finished, failures within --max-failed-instances)
1    unexpected internal error
2    bad input: usage error or an input the resources' check rejects
3    the operation failed (error, or more failed instances than allowed)
4    timeout (--timeout elapsed; import/export cancel the operation)
5    the operation was cancelled
6    API problem: the job could not be started (including: an older operation of
     the same kind is still running in the dataset, the dataset or store does not
     exist, no Google credentials were found), the operation is unknown (404), or
     the API could not be reached
130  interrupted (Ctrl-C) and the operation left running
===  ==========================================================================
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, Callable, NoReturn, Optional

import click

from pulumi_dicom_jobs import jobs, names, requests_body, spec, validation
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.errors import ApiError, CredentialsError, TransportError
from pulumi_dicom_jobs.command_lines import wait_and_cancel_commands
from pulumi_dicom_jobs.cli.outcomes import (EXIT_API, EXIT_BAD_INPUT, EXIT_CODES_HELP, EXIT_ERROR, EXIT_INTERRUPTED,
                                        EXIT_OK, outcome_of, state_of)
from pulumi_dicom_jobs.cli.retries import show_retries
from pulumi_dicom_jobs.cli.progress import Reporter, kind_of, make_reporter
from pulumi_dicom_jobs.failures import JobFailed, JobInFlight, describe_operation
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.progress_text import format_duration, operation_duration

#: How long, after a Ctrl-C cancel, to wait for the operation to stop.
CANCEL_SETTLE_SECONDS = 60.0

#: Resource property path -> the flag or argument that sets it (for messages), from the spec.
FLAG_OF: dict[str, str] = {**spec.cli_flags(spec.IMPORT_JOB), **spec.cli_flags(spec.EXPORT_JOB)}
#: ``gcloud healthcare dicom-stores export bq`` flags accepted as aliases of ours.
GCLOUD_FLAG_ALIASES: dict[str, str] = {"--overwrite-table": "--force", "--no-overwrite-table": "--no-force"}
#: gcloud's ``--write-disposition`` values and the API's enum value each one means.
GCLOUD_WRITE_DISPOSITIONS: dict[str, str] = {
    "write-empty": "WRITE_EMPTY", "write-truncate": "WRITE_TRUNCATE", "write-append": "WRITE_APPEND"}
#: The inputs every command sets with a flag (``--api-version``, ``--timeout``...).
_COMMON_PATHS = tuple(item.name for item in spec.COMMON_INPUTS if (item.cli or "").startswith("--"))


# -- options shared by commands --------------------------------------------
@dataclass
class Options:
    api_version: str = "v1"
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
        parts = ["dicom-jobs", "wait", name]
        if self.api_version != "v1":
            parts += ["--api-version", self.api_version]
        if self.api_endpoint:
            parts += ["--endpoint", self.api_endpoint]
        return " ".join(parts)


class _Seconds(click.ParamType):
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


def _api_options(func: Callable) -> Callable:
    func = click.option("--json", "as_json", is_flag=True,
                        help="Print the final operation summary as JSON on stdout "
                             "(progress goes to stderr).")(func)
    func = click.option("--endpoint", "api_endpoint", metavar="URL", default=None,
                        help="API endpoint [default: https://healthcare.googleapis.com]; "
                             "HEALTHCARE_EMULATOR_HOST wins over it.")(func)
    func = click.option("--api-version", default="v1", show_default=True, metavar="v1|v1beta1",
                        help="Cloud Healthcare API version.")(func)
    return func


def _wait_options(func: Callable) -> Callable:
    func = click.option("--no-progress", "no_progress", is_flag=True,
                        help="Show no progress while waiting.")(func)
    func = click.option("--cancel-on-interrupt", is_flag=True,
                        help="On Ctrl-C, cancel the operation without asking.")(func)
    func = click.option("--max-failed-instances", type=int, default=None, metavar="N",
                        help="Succeed even when up to N instances fail [default: 0].")(func)
    func = click.option("--timeout", type=_Seconds(), default=None, metavar="SECONDS",
                        help="Give up after this many seconds [default: 21600].")(func)
    return func


def _job_options(func: Callable) -> Callable:
    func = click.option("--async", "run_async", is_flag=True,
                        help="Print the operation name and return at once.")(func)
    return _wait_options(_api_options(func))


def _options(**kwargs: Any) -> Options:
    return Options(
        api_version=kwargs.get("api_version") or "v1",
        api_endpoint=kwargs.get("api_endpoint"),
        as_json=bool(kwargs.get("as_json")),
        timeout=kwargs.get("timeout"),
        max_failed_instances=kwargs.get("max_failed_instances"),
        run_async=bool(kwargs.get("run_async")),
        cancel_on_interrupt=bool(kwargs.get("cancel_on_interrupt")),
        cancel_on_timeout=kwargs.get("cancel_on_timeout", True),
        progress=not kwargs.get("no_progress"),
    )


# -- output helpers ----------------------------------------------------------
def _out(text: str = "") -> None:
    click.echo(text)


def _err(text: str) -> None:
    click.echo(text, err=True)


def _finish(code: int) -> NoReturn:
    sys.exit(code)


def _print_json(data: dict) -> None:
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


def _describe(status: OperationStatus) -> list[str]:
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


def _succeeded(status: OperationStatus, opts: Options) -> NoReturn:
    if opts.as_json:
        _print_json(summary(status, state="SUCCEEDED", exit_code=EXIT_OK))
    else:
        took = format_duration(operation_duration(status))
        _out(f"Operation {status.name} succeeded in {took}: {status.success} instance(s) "
             f"succeeded, {status.failure} failed.")
        if status.failure:
            _out(f"{status.failure} failed instance(s) allowed by --max-failed-instances="
                 f"{opts.max_failed}.")
            for line in describe_operation(status)[1:]:
                _out(line)
        elif status.logs_url:
            _out(f"logs: {status.logs_url}")
    _finish(EXIT_OK)


def _job_failed(exc: JobFailed, opts: Options, name: Optional[str] = None) -> NoReturn:
    code, state = outcome_of(exc.reason)
    if isinstance(exc, JobInFlight):
        exc = exc.with_commands(*wait_and_cancel_commands(exc.operation_ref, opts.api_version))
    _err(f"Error: {exc}")
    if opts.as_json:
        _print_json(summary(exc.operation, state=state, exit_code=code, message=str(exc), name=name))
    _finish(code)


def _api_failed(exc: BaseException, opts: Options, what: str, name: Optional[str] = None) -> NoReturn:
    message = f"{what}: {exc}"
    _err(f"Error: {message}")
    if opts.as_json:
        _print_json(summary(None, state="API_ERROR", exit_code=EXIT_API, message=message, name=name))
    _finish(EXIT_API)


def _bad_input(failures: list[tuple[str, str]], opts: Options) -> NoReturn:
    _err("Error: invalid input:")
    for path, reason in failures:
        flag = FLAG_OF.get(path)
        _err(f"  {path}{f' ({flag})' if flag else ''}: {reason}")
    if opts.as_json:
        data = summary(None, state="INVALID_INPUT", exit_code=EXIT_BAD_INPUT,
                       message="; ".join(f"{p}: {r}" for p, r in failures))
        data["errors"] = [{"property": p, "reason": r} for p, r in failures]
        _print_json(data)
    _finish(EXIT_BAD_INPUT)


def _check_common(opts: Options) -> None:
    """The resources' rules for the flags every command shares (no store involved)."""
    failures = [f for f in validation.check_import(opts.common_props()) if f[0] in _COMMON_PATHS]
    if failures:
        _bad_input(failures, opts)


def _check_operation_name(name: str, opts: Options) -> None:
    if not names.is_operation_name(name):
        _bad_input([("OPERATION", f"{name!r} is not an operation name: expected "
                                  "projects/PROJECT/locations/LOCATION/datasets/DATASET/operations/ID")],
                   opts)


def _client(opts: Options) -> HealthcareClient:
    return HealthcareClient(opts.api_endpoint, opts.api_version)


def _reporter(opts: Options, kind: str) -> Reporter:
    # with --json, stdout carries only the JSON document: progress goes to stderr
    stream = sys.stderr if opts.as_json else sys.stdout
    return make_reporter(stream, kind, enabled=opts.progress)


# -- waiting, interrupts -------------------------------------------------------
def _interrupted(client: HealthcareClient, name: Optional[str], opts: Options,
                 reporter: Reporter) -> NoReturn:
    reporter.stop()
    _err("")
    if name is None:
        _err("Interrupted while starting the job: it may or may not have started. "
             "List the dataset's operations to find out.")
        _finish(EXIT_INTERRUPTED)
    cancel = opts.cancel_on_interrupt
    if not cancel and sys.stdin is not None and sys.stdin.isatty():
        try:
            cancel = click.confirm(f"Interrupted. Cancel operation {name}?", default=False, err=True)
        except (click.Abort, KeyboardInterrupt, EOFError):
            _err("")
            cancel = False
    if not cancel:
        _err(f"Interrupted; operation {name} is still running (not cancelled).\n"
             f"Resume waiting with: {opts.resume_command(name)}")
        if opts.as_json:
            _print_json(summary(reporter.last, state="RUNNING", exit_code=EXIT_INTERRUPTED,
                                message="interrupted; operation left running", name=name))
        _finish(EXIT_INTERRUPTED)
    try:
        jobs.cancel_operation(client, name)
        _err(f"Cancellation requested for {name}; waiting for it to stop...")
        status = jobs.wait(client, name, timeout_seconds=CANCEL_SETTLE_SECONDS,
                           max_failed_instances=opts.max_failed, cancel_on_timeout=False)
    except JobFailed as exc:
        _job_failed(exc, opts, name)
    except (ApiError, TransportError, CredentialsError) as exc:
        _api_failed(exc, opts, f"could not cancel {name}", name)
    except KeyboardInterrupt:
        _err(f"Interrupted again; cancellation of {name} was requested. "
             f"Check with: dicom-jobs status {name}")
        _finish(EXIT_INTERRUPTED)
    _err("The operation finished before the cancellation took effect.")
    _succeeded(status, opts)


def _wait_for(client: HealthcareClient, name: str, opts: Options, kind: str) -> NoReturn:
    reporter = _reporter(opts, kind)
    try:
        with reporter:
            reporter.started(name, "Waiting for")
            status = jobs.wait(client, name, timeout_seconds=opts.timeout_seconds,
                               max_failed_instances=opts.max_failed, on_progress=reporter.update,
                               cancel_on_timeout=opts.cancel_on_timeout)
    except KeyboardInterrupt:
        _interrupted(client, name, opts, reporter)
    except JobFailed as exc:
        _job_failed(exc, opts, name)
    except (ApiError, TransportError, CredentialsError) as exc:
        _api_failed(exc, opts, f"could not wait for {name}", name)
    _succeeded(status, opts)


def _run_job(opts: Options, props: dict, job_kind: JobKind) -> NoReturn:
    """Check ``props``, build the body, start the job; wait for it unless --async."""
    export, kind = job_kind.is_export, job_kind.noun
    failures = (validation.check_export if export else validation.check_import)(props)
    if failures:
        _bad_input(failures, opts)
    body = (requests_body.build_export_body if export else requests_body.build_import_body)(props)
    store = props["dicom_store"]
    client = _client(opts)
    if opts.run_async:
        try:
            name = jobs.start(client, job_kind, store, body)
        except JobFailed as exc:
            _job_failed(exc, opts)
        except KeyboardInterrupt:
            _interrupted(client, None, opts, make_reporter(sys.stderr, kind, enabled=False))
        if opts.as_json:
            _print_json({"name": name, "state": "RUNNING", "exitCode": EXIT_OK, "done": False})
        else:
            _out(name)
        _err(f"Started {kind} operation {name}\n"
             f"Wait for it: {opts.resume_command(name)}\n"
             f"Check it:    dicom-jobs status {name}")
        _finish(EXIT_OK)

    reporter = _reporter(opts, kind)
    current: dict[str, Optional[str]] = {"name": None}

    def on_started(name: str) -> None:
        current["name"] = name
        reporter.started(name)

    try:
        with reporter:
            status = jobs.run_job(client, job_kind, store, body,
                                  timeout_seconds=opts.timeout_seconds,
                                  max_failed_instances=opts.max_failed,
                                  on_started=on_started, on_progress=reporter.update)
    except KeyboardInterrupt:
        _interrupted(client, current["name"], opts, reporter)
    except JobFailed as exc:
        _job_failed(exc, opts, current["name"])
    except (ApiError, TransportError, CredentialsError) as exc:
        _api_failed(exc, opts, f"the {kind} job could not be run", current["name"])
    _succeeded(status, opts)


# -- commands ----------------------------------------------------------------
@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=EXIT_CODES_HELP)
@click.version_option(package_name="pulumi-dicom-jobs", prog_name="dicom-jobs")
def cli() -> None:
    """Run Cloud Healthcare API DICOM import/export jobs and watch them.

    STORE is a DICOM store name:
    projects/PROJECT/locations/LOCATION/datasets/DATASET/dicomStores/STORE.
    OPERATION is an operation name as printed by import/export:
    projects/PROJECT/locations/LOCATION/datasets/DATASET/operations/ID.

    In a terminal, progress is shown live; otherwise as plain lines.
    Ctrl-C asks whether to cancel the operation (--cancel-on-interrupt
    cancels without asking; with no terminal the operation is left running
    and the command to resume waiting is printed).
    """


@cli.command("import", epilog=EXIT_CODES_HELP)
@click.argument("store")
@click.argument("source")
@click.option("--blob-storage-class", metavar="STANDARD|NEARLINE|COLDLINE|ARCHIVE", default=None,
              help="Storage class of the imported instances.")
@_job_options
def import_cmd(store: str, source: str, blob_storage_class: Optional[str], **kwargs: Any) -> None:
    """Import DICOM files from Cloud Storage (SOURCE: gs://BUCKET/PATH, wildcards allowed)."""
    opts = _options(**kwargs)
    props: dict[str, Any] = {"dicom_store": store, "gcs_source": {"uri": source}, **opts.common_props()}
    if blob_storage_class is not None:
        props["blob_storage_settings"] = {"blob_storage_class": blob_storage_class.upper()}
    _run_job(opts, props, JobKind.IMPORT)


@cli.group("export", epilog=EXIT_CODES_HELP)
def export_group() -> None:
    """Export a DICOM store to Cloud Storage (gcs) or BigQuery (bq)."""


@export_group.command("gcs", epilog=EXIT_CODES_HELP)
@click.argument("store")
@click.argument("destination")
@click.option("--mime-type", default=None, metavar="TYPE",
              help="e.g. application/dicom, image/jpeg, image/png, "
                   "'application/dicom; transfer-syntax=*' [default: original DICOM].")
@click.option("--filter", "filter_uri", default=None, metavar="gs://BUCKET/FILE",
              help="Export only the studies/series/instances listed in this file.")
@_job_options
def export_gcs(store: str, destination: str, mime_type: Optional[str], filter_uri: Optional[str],
               **kwargs: Any) -> None:
    """Export instances to Cloud Storage (DESTINATION: gs://BUCKET[/PREFIX])."""
    opts = _options(**kwargs)
    gcs: dict[str, Any] = {"uri_prefix": destination}
    if mime_type is not None:
        gcs["mime_type"] = mime_type
    props: dict[str, Any] = {"dicom_store": store, "gcs_destination": gcs, **opts.common_props()}
    if filter_uri is not None:
        props["filter_config"] = {"resource_paths_gcs_uri": filter_uri}
    _run_job(opts, props, JobKind.EXPORT_GCS)


@export_group.command("bq", epilog=EXIT_CODES_HELP)
@click.argument("store")
@click.argument("destination")
@click.option("--write-disposition", default=None, metavar="WRITE_EMPTY|WRITE_TRUNCATE|WRITE_APPEND",
              help="What to do when the table exists (gcloud's write-empty, write-truncate, "
                   "write-append work too). Without it and without --force the export fails on any "
                   "existing table, even an empty one.")
@click.option("--force/--no-force", "--overwrite-table/--no-overwrite-table", "force", default=None,
              help="Overwrite an existing table (--no-force: fail if it exists); --overwrite-table "
                   "is gcloud's name for it. Not with --write-disposition: the API ignores force then.")
@click.option("--include-source-store", is_flag=True, default=None,
              help="Add a column naming the source store.")
@click.option("--schema", default=None, metavar="flattened|json", help="Table schema.")
@click.option("--filter", "filter_uri", default=None, metavar="gs://BUCKET/FILE",
              help="Export only the studies/series/instances listed in this file.")
@_job_options
def export_bq(store: str, destination: str, write_disposition: Optional[str], force: Optional[bool],
              include_source_store: Optional[bool], schema: Optional[str], filter_uri: Optional[str],
              **kwargs: Any) -> None:
    """Export instance metadata to BigQuery (DESTINATION: bq://PROJECT.DATASET.TABLE)."""
    opts = _options(**kwargs)
    bq: dict[str, Any] = {"table_uri": destination}
    if write_disposition is not None:
        bq["write_disposition"] = GCLOUD_WRITE_DISPOSITIONS.get(write_disposition, write_disposition.upper())
    if force is not None:
        bq["force"] = force
    if include_source_store:
        bq["include_source_store"] = True
    if schema is not None:
        bq["schema"] = schema.upper()
    props: dict[str, Any] = {"dicom_store": store, "bigquery_destination": bq, **opts.common_props()}
    if filter_uri is not None:
        props["filter_config"] = {"resource_paths_gcs_uri": filter_uri}
    _run_job(opts, props, JobKind.EXPORT_BIGQUERY)


@cli.command("wait", epilog=EXIT_CODES_HELP)
@click.argument("operation")
@click.option("--cancel-on-timeout", is_flag=True,
              help="Cancel the operation when --timeout elapses (default: leave it running).")
@_wait_options
@_api_options
def wait_cmd(operation: str, **kwargs: Any) -> None:
    """Wait for OPERATION to finish, with progress; exit code tells the outcome."""
    opts = _options(**kwargs)
    _check_common(opts)
    _check_operation_name(operation, opts)
    client = _client(opts)
    try:
        first = jobs.get_operation(client, operation)
    except JobFailed as exc:
        _job_failed(exc, opts, operation)
    except (ApiError, TransportError, CredentialsError) as exc:
        _api_failed(exc, opts, f"could not read {operation}", operation)
    _wait_for(client, operation, opts, kind_of(first))


@cli.command("status", epilog=EXIT_CODES_HELP)
@click.argument("operation")
@_api_options
def status_cmd(operation: str, **kwargs: Any) -> None:
    """Show one snapshot of OPERATION (exit 0 whatever its state; see 'state')."""
    opts = _options(**kwargs)
    _check_common(opts)
    _check_operation_name(operation, opts)
    try:
        status = jobs.get_operation(_client(opts), operation)
    except JobFailed as exc:
        _job_failed(exc, opts, operation)
    except (ApiError, TransportError, CredentialsError) as exc:
        _api_failed(exc, opts, f"could not read {operation}", operation)
    if opts.as_json:
        _print_json(summary(status, state=state_of(status), exit_code=EXIT_OK))
    else:
        for line in _describe(status):
            _out(line)
    _finish(EXIT_OK)


@cli.command("cancel", epilog=EXIT_CODES_HELP)
@click.argument("operation")
@click.option("--wait", "wait_", is_flag=True,
              help="Wait until the operation stops; exit 5 once cancelled.")
@click.option("--timeout", type=_Seconds(), default=None, metavar="SECONDS",
              help="With --wait: give up after this many seconds [default: 21600].")
@_api_options
def cancel_cmd(operation: str, wait_: bool, timeout: Optional[float], **kwargs: Any) -> None:
    """Ask the API to cancel OPERATION (it stops at its next instance)."""
    opts = _options(timeout=timeout, cancel_on_timeout=False, **kwargs)
    _check_common(opts)
    _check_operation_name(operation, opts)
    client = _client(opts)
    try:
        jobs.cancel_operation(client, operation)
        status = jobs.get_operation(client, operation)
    except JobFailed as exc:
        _job_failed(exc, opts, operation)
    except (ApiError, TransportError, CredentialsError) as exc:
        _api_failed(exc, opts, f"could not cancel {operation}", operation)
    if wait_:
        _err(f"Cancellation requested for {operation}.")
        _wait_for(client, operation, opts, kind_of(status))
    if opts.as_json:
        _print_json(summary(status, state=state_of(status), exit_code=EXIT_OK))
    else:
        _out(f"Cancellation requested for {operation} (state now: {state_of(status)}).")
        _out(f"Check with: dicom-jobs status {operation}")
    _finish(EXIT_OK)


def main(argv: Optional[list[str]] = None) -> None:
    """Console-script entry point (``dicom-jobs``)."""
    show_retries()
    try:
        cli.main(args=argv, prog_name="dicom-jobs", standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # last resort: never a traceback with request details
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
