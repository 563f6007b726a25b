"""``dicom-jobs``: start, watch and cancel Cloud Healthcare DICOM import/export jobs.

The command line face of the same job runner the Pulumi resources use: flags
become the resources' inputs (``dicom_store``, ``gcs_source``, ...). This
module declares the commands; the shared flags are in
:mod:`~pulumi_dicom_jobs.cli.options`, checking, starting, waiting and
Ctrl-C in :mod:`~pulumi_dicom_jobs.cli.runner` (the resources' ``check``
rules and messages, the same request body, :mod:`pulumi_dicom_jobs.jobs`),
what is printed in :mod:`~pulumi_dicom_jobs.cli.output`, and the exit codes
are decided in :mod:`~pulumi_dicom_jobs.cli.outcomes`.

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

Exit codes: :data:`pulumi_dicom_jobs.cli.outcomes.EXIT_CODES` (``dicom-jobs --help``, docs/cli.md).
"""

from __future__ import annotations

import sys
from typing import Any, Optional

import click

from pulumi_dicom_jobs import jobs, spec
from pulumi_dicom_jobs.api.errors import HealthcareApiError
from pulumi_dicom_jobs.cli.options import (Options, Seconds, api_options, job_options, options_from,
                                           wait_options)
from pulumi_dicom_jobs.cli.outcomes import EXIT_CODES_HELP, EXIT_ERROR, EXIT_OK, state_of
from pulumi_dicom_jobs.cli.output import (api_failed, describe, err, finish, job_failed, nothing_cancelled, out,
                                          print_json, summary)
from pulumi_dicom_jobs.cli.progress import kind_of
from pulumi_dicom_jobs.cli.retries import show_retries
from pulumi_dicom_jobs.cli.runner import check_common, check_operation_name, client_for, run_job, wait_for
from pulumi_dicom_jobs.command_lines import status_command
from pulumi_dicom_jobs.failures import JobFailed

#: ``gcloud healthcare dicom-stores export bq`` flags accepted as aliases of ours.
GCLOUD_FLAG_ALIASES: dict[str, str] = {"--overwrite-table": "--force", "--no-overwrite-table": "--no-force"}
#: gcloud's ``--write-disposition`` values and the API's enum value each one means.
GCLOUD_WRITE_DISPOSITIONS: dict[str, str] = {
    "write-empty": "WRITE_EMPTY", "write-truncate": "WRITE_TRUNCATE", "write-append": "WRITE_APPEND"}


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


@cli.command("import", epilog=EXIT_CODES_HELP, short_help="Import DICOM files from Cloud Storage into a store.")
@click.argument("store")
@click.argument("source")
@click.option("--blob-storage-class", metavar="STANDARD|NEARLINE|COLDLINE|ARCHIVE", default=None,
              help="Storage class of the imported instances.")
@job_options
def import_cmd(store: str, source: str, blob_storage_class: Optional[str], **kwargs: Any) -> None:
    """Import DICOM files from Cloud Storage (SOURCE: gs://BUCKET/PATH, wildcards allowed)."""
    opts = options_from(**kwargs)
    props: dict[str, Any] = {"dicom_store": store, "gcs_source": {"uri": source}, **opts.common_props()}
    if blob_storage_class is not None:
        props["blob_storage_settings"] = {"blob_storage_class": blob_storage_class.upper()}
    run_job(opts, props, spec.IMPORT_JOB)


@cli.group("export", epilog=EXIT_CODES_HELP,
           short_help="Export a DICOM store to Cloud Storage (gcs) or BigQuery (bq).")
def export_group() -> None:
    """Export a DICOM store to Cloud Storage (gcs) or BigQuery (bq)."""


@export_group.command("gcs", epilog=EXIT_CODES_HELP, short_help="Export instances to Cloud Storage.")
@click.argument("store")
@click.argument("destination")
@click.option("--mime-type", default=None, metavar="TYPE",
              help="e.g. application/dicom, image/jpeg, image/png, "
                   "'application/dicom; transfer-syntax=*' [default: original DICOM].")
@click.option("--filter", "filter_uri", default=None, metavar="gs://BUCKET/FILE",
              help="Export only the studies/series/instances listed in this file.")
@job_options
def export_gcs(store: str, destination: str, mime_type: Optional[str], filter_uri: Optional[str],
               **kwargs: Any) -> None:
    """Export instances to Cloud Storage (DESTINATION: gs://BUCKET[/PREFIX])."""
    opts = options_from(**kwargs)
    gcs: dict[str, Any] = {"uri_prefix": destination}
    if mime_type is not None:
        gcs["mime_type"] = mime_type
    _run_export(opts, store, "gcs_destination", gcs, filter_uri)


@export_group.command("bq", epilog=EXIT_CODES_HELP, short_help="Export instance metadata to a BigQuery table.")
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
@job_options
def export_bq(store: str, destination: str, write_disposition: Optional[str], force: Optional[bool],
              include_source_store: Optional[bool], schema: Optional[str], filter_uri: Optional[str],
              **kwargs: Any) -> None:
    """Export instance metadata to BigQuery (DESTINATION: bq://PROJECT.DATASET.TABLE)."""
    opts = options_from(**kwargs)
    bq: dict[str, Any] = {"table_uri": destination}
    if write_disposition is not None:
        bq["write_disposition"] = GCLOUD_WRITE_DISPOSITIONS.get(write_disposition, write_disposition.upper())
    if force is not None:
        bq["force"] = force
    if include_source_store:
        bq["include_source_store"] = True
    if schema is not None:
        bq["schema"] = schema.upper()
    _run_export(opts, store, "bigquery_destination", bq, filter_uri)


def _run_export(opts: Options, store: str, destination_key: str, destination: dict[str, Any],
                filter_uri: Optional[str]) -> None:
    """An export's inputs from its flags (the destination, ``--filter``, the shared flags), run."""
    props: dict[str, Any] = {"dicom_store": store, destination_key: destination, **opts.common_props()}
    if filter_uri is not None:
        props["filter_config"] = {"resource_paths_gcs_uri": filter_uri}
    run_job(opts, props, spec.EXPORT_JOB)


@cli.command("wait", epilog=EXIT_CODES_HELP,
             short_help="Wait for an operation to finish; the exit code tells how it ended.")
@click.argument("operation")
@click.option("--cancel-on-timeout", is_flag=True,
              help="Cancel the operation when --timeout elapses (default: leave it running).")
@wait_options
@api_options
def wait_cmd(operation: str, **kwargs: Any) -> None:
    """Wait for OPERATION to finish, with progress; exit code tells the outcome."""
    opts = options_from(**kwargs)
    check_common(opts)
    check_operation_name(operation, opts)
    client = client_for(opts)
    try:
        first = jobs.get_operation(client, operation)
    except JobFailed as exc:
        job_failed(exc, opts, operation)
    except HealthcareApiError as exc:
        api_failed(exc, opts, f"could not read {operation}", operation)
    wait_for(client, operation, opts, kind_of(first))


@cli.command("status", epilog=EXIT_CODES_HELP,
             short_help="Show one snapshot of an operation (exit 0 whatever its state).")
@click.argument("operation")
@api_options
def status_cmd(operation: str, **kwargs: Any) -> None:
    """Show one snapshot of OPERATION (exit 0 whatever its state; see 'state')."""
    opts = options_from(**kwargs)
    check_common(opts)
    check_operation_name(operation, opts)
    try:
        status = jobs.get_operation(client_for(opts), operation)
    except JobFailed as exc:
        job_failed(exc, opts, operation)
    except HealthcareApiError as exc:
        api_failed(exc, opts, f"could not read {operation}", operation)
    if opts.as_json:
        print_json(summary(status, state=state_of(status), exit_code=EXIT_OK))
    else:
        for line in describe(status):
            out(line)
    finish(EXIT_OK)


@cli.command("cancel", epilog=EXIT_CODES_HELP, short_help="Ask the API to cancel an operation.")
@click.argument("operation")
@click.option("--wait", "wait_", is_flag=True,
              help="Wait until the operation stops; exit 5 once cancelled.")
@click.option("--timeout", type=Seconds(), default=None, metavar="SECONDS",
              help=f"With --wait: give up after this many seconds "
                   f"[default: {spec.DEFAULT_TIMEOUT_SECONDS}].")
@api_options
def cancel_cmd(operation: str, wait_: bool, timeout: Optional[float], **kwargs: Any) -> None:
    """Ask the API to cancel OPERATION (it stops at its next instance).

    An operation that has already finished is not sent a cancel: the command
    says so and its state, and exits 7.
    """
    opts = options_from(timeout=timeout, cancel_on_timeout=False, **kwargs)
    check_common(opts)
    check_operation_name(operation, opts)
    client = client_for(opts)
    try:
        before = jobs.get_operation(client, operation)
        if not before.done:  # a finished operation is not sent a cancel: there is nothing to stop
            jobs.cancel_operation(client, operation)
        status = jobs.get_operation(client, operation) if not before.done else before
    except JobFailed as exc:
        job_failed(exc, opts, operation)
    except HealthcareApiError as exc:
        api_failed(exc, opts, f"could not cancel {operation}", operation)
    if before.done or (status.done and state_of(status) != "CANCELLED"):
        nothing_cancelled(status, opts, sent=not before.done)
    if wait_:
        err(f"Cancellation requested for {operation}.")
        wait_for(client, operation, opts, kind_of(status))
    if opts.as_json:
        print_json(summary(status, state=state_of(status), exit_code=EXIT_OK))
    else:
        out(f"Cancellation requested for {operation} (state now: {state_of(status)}).")
        out(f"Check with: {status_command(operation)}")
    finish(EXIT_OK)


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
