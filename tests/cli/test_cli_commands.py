"""``dicom-jobs`` end to end, in a subprocess, against the emulators (no TTY).

Every command, its exit codes, ``--json`` output, the plain progress lines,
``--async`` then ``wait`` then ``status``, ``cancel`` and Ctrl-C without a
terminal. Bad input must be reported with the resources' check messages and
must not reach the API at all.
"""

from __future__ import annotations

import json
import re

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from healthcare_emulator import sampledata
from support.cli import OUTLASTING_PACE_S, LineReader, op_name_in, run_cli
from pulumi_dicom_jobs import request_body, validation

PROGRESS_LINE = re.compile(
    r"^\[\d+:\d\d:\d\d\] operations/\d+ (running|done|cancelling): success=\d+ failure=\d+ pending=\d+",
    re.MULTILINE)


def _json(proc) -> dict:
    assert proc.stdout.strip(), proc.stderr
    return json.loads(proc.stdout)


# -- import --------------------------------------------------------------------
def test_import_succeeds_with_plain_progress_lines(setup):
    setup.upload_synthetic("in", 5)
    proc = run_cli("import", setup.store, setup.gs("in/*.dcm"))
    assert proc.returncode == 0, proc.stderr
    assert "Started import operation projects/" in proc.stdout
    assert PROGRESS_LINE.search(proc.stdout), proc.stdout
    assert re.search(r"succeeded in \d+:\d\d:\d\d: 5 instance\(s\) succeeded, 0 failed", proc.stdout)
    assert "\x1b[" not in proc.stdout  # no terminal control codes in a pipe
    assert setup.study_count() == 1


def test_a_reimport_that_counted_nothing_says_the_two_possible_reasons(setup):
    """The emulator's default leaves a duplicate uncounted: the second import ends 0/0, and the CLI
    names both causes instead of a bare "0 instance(s) succeeded"; the first import says nothing."""
    from pulumi_dicom_jobs.cli.output import NOTHING_COUNTED
    setup.upload_synthetic("in", 2)
    first = run_cli("import", setup.store, setup.gs("in/*.dcm"))
    assert first.returncode == 0 and "2 instance(s) succeeded" in first.stdout, first.stderr
    assert "Nothing was counted" not in first.stdout
    again = run_cli("import", setup.store, setup.gs("in/*.dcm"))
    assert again.returncode == 0, again.stderr
    assert "0 instance(s) succeeded, 0 failed." in again.stdout and NOTHING_COUNTED in again.stdout, again.stdout
    assert setup.study_count() == 1


def test_import_json_summary_and_the_exact_request_body(setup):
    setup.upload_synthetic("in", 3)
    proc = run_cli("import", setup.store, setup.gs("in/**.dcm"), "--blob-storage-class", "coldline",
                   "--json")
    assert proc.returncode == 0, proc.stderr
    summary = _json(proc)  # stdout is only the JSON document
    assert summary["state"] == "SUCCEEDED" and summary["exitCode"] == 0 and summary["done"] is True
    assert summary["counter"] == {"success": 3, "failure": 0, "pending": 0}
    assert summary["kind"] == "import"
    assert summary["apiMethodName"].endswith("ImportDicomData")
    assert summary["logsUrl"] and summary["createTime"] and summary["endTime"]
    assert summary["error"] is None and summary["sampleErrors"] == []
    [op] = setup.admin.store_operations()
    assert op["name"] == summary["name"]
    props = {"dicom_store": setup.store, "gcs_source": {"uri": setup.gs("in/**.dcm")},
             "blob_storage_settings": {"blob_storage_class": "COLDLINE"}}
    assert op["request"] == request_body.build_import_body(props)
    # progress went to stderr, so stdout stayed parseable
    assert "Started import operation" in proc.stderr


def test_operation_failure_exits_3_with_sample_errors(setup):
    setup.upload_synthetic("in", 2)
    setup.upload("in/broken.dcm", sampledata.broken_file())
    proc = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--json")
    assert proc.returncode == 3, proc.stderr
    assert "failed instance(s), more than --max-failed-instances 0" in proc.stderr
    assert setup.gs("in/broken.dcm") in proc.stderr
    assert "INVALID_ARGUMENT" in proc.stderr
    summary = _json(proc)
    assert summary["state"] == "FAILED" and summary["exitCode"] == 3
    assert summary["counter"] == {"success": 2, "failure": 1, "pending": 0}
    assert [s["resource"] for s in summary["sampleErrors"]] == [setup.gs("in/broken.dcm")]
    assert summary["error"]["code"] == 3


def test_failures_within_max_failed_instances_exit_0(setup):
    setup.upload_synthetic("in", 2)
    setup.upload("in/broken.dcm", sampledata.broken_file())
    proc = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--max-failed-instances", "1")
    assert proc.returncode == 0, proc.stderr
    assert "1 failed instance(s) allowed by --max-failed-instances=1" in proc.stdout
    assert setup.gs("in/broken.dcm") in proc.stdout


def test_start_failure_exits_6(setup):
    missing = setup.store.replace(setup.store_id, "no_such_store")
    proc = run_cli("import", missing, setup.gs("in/*.dcm"), "--json")
    assert proc.returncode == 6, proc.stderr
    assert "could not start the DICOM import job" in proc.stderr
    assert _json(proc)["state"] == "START_FAILED"


# -- bad input -----------------------------------------------------------------
STORE = "projects/local-project/locations/us-central1/datasets/d/dicomStores/s"
BAD_INPUTS = [
    pytest.param(["import", STORE, "gs://bucket/a/**/b/*.dcm"], validation.check_import,
                 {"dicom_store": STORE, "gcs_source": {"uri": "gs://bucket/a/**/b/*.dcm"}}, id="wildcard"),
    pytest.param(["import", "datasets/d/dicomStores/s", "s3://bucket/x", "--timeout", "0"],
                 validation.check_import,
                 {"dicom_store": "datasets/d/dicomStores/s", "gcs_source": {"uri": "s3://bucket/x"},
                  "timeout_seconds": 0}, id="store-uri-timeout"),
    pytest.param(["export", "bq", STORE, "bq://local-project.ds.t", "--force", "--write-disposition",
                  "write_append"], validation.check_export,
                 {"dicom_store": STORE, "bigquery_destination": {
                     "table_uri": "bq://local-project.ds.t", "force": True,
                     "write_disposition": "WRITE_APPEND"}}, id="force-and-disposition"),
    pytest.param(["export", "bq", STORE, "bq://local-project.ds.t", "--overwrite-table", "--write-disposition",
                  "write-append"], validation.check_export,
                 {"dicom_store": STORE, "bigquery_destination": {
                     "table_uri": "bq://local-project.ds.t", "force": True,
                     "write_disposition": "WRITE_APPEND"}}, id="gcloud-spellings-force-and-disposition"),
    pytest.param(["export", "bq", STORE, "bq://P.ds.t", "--schema", "xml", "--filter", "gs://b/*"],
                 validation.check_export,
                 {"dicom_store": STORE, "bigquery_destination": {"table_uri": "bq://P.ds.t", "schema": "XML"},
                  "filter_config": {"resource_paths_gcs_uri": "gs://b/*"}}, id="schema-filter"),
    pytest.param(["export", "gcs", STORE, "gs://bucket/out", "--mime-type", "image/gif",
                  "--max-failed-instances", "-1", "--api-version", "v2"], validation.check_export,
                 {"dicom_store": STORE, "gcs_destination": {"uri_prefix": "gs://bucket/out",
                                                            "mime_type": "image/gif"},
                  "max_failed_instances": -1, "api_version": "v2"}, id="mime-max-version"),
]


@pytest.mark.parametrize("args,check,props", BAD_INPUTS)
def test_bad_input_exits_2_with_the_checks_messages_and_sends_nothing(setup, args, check, props):
    expected = check(props)
    assert expected  # the case really is invalid
    setup.admin.post("requests/clear")
    proc = run_cli(*args, "--json")
    assert proc.returncode == 2, proc.stderr
    assert "Error: invalid input:" in proc.stderr
    for path, reason in expected:
        assert f"{path}" in proc.stderr and reason in proc.stderr, (path, reason, proc.stderr)
    summary = _json(proc)
    assert summary["state"] == "INVALID_INPUT" and summary["exitCode"] == 2
    assert [(e["property"], e["reason"]) for e in summary["errors"]] == expected
    assert setup.admin.get("requests")["count"] == 0


def test_export_bq_force_beside_a_write_disposition_is_refused_saying_why(setup):
    """The API ignores force beside a disposition: the CLI says so instead of not overwriting."""
    setup.admin.post("requests/clear")
    proc = run_cli("export", "bq", STORE, "bq://local-project.ds.t", "--force", "--write-disposition", "write_empty")
    assert proc.returncode == 2, proc.stderr
    assert "bigquery_destination.force (--force): force=true is ignored by the API when write_disposition " \
           "is set" in proc.stderr
    assert setup.admin.get("requests")["count"] == 0
    # WRITE_DISPOSITION_UNSPECIFIED means unset: --force applies and the pair is valid.
    assert validation.check_export({"dicom_store": STORE, "bigquery_destination": {
        "table_uri": "bq://local-project.ds.t", "force": True, "write_disposition": "WRITE_DISPOSITION_UNSPECIFIED"}}) == []


def test_usage_errors_exit_2(setup):
    setup.admin.post("requests/clear")
    assert run_cli("import", STORE).returncode == 2  # missing SOURCE
    assert run_cli("import", STORE, "gs://b/x", "--timeout", "soon").returncode == 2
    assert run_cli("export", "ftp", STORE, "x").returncode == 2
    bad_op = run_cli("status", "operations/123")
    assert bad_op.returncode == 2 and "is not an operation name" in bad_op.stderr
    assert setup.admin.get("requests")["count"] == 0


def test_help_documents_exit_codes():
    for args in ([], ["import"], ["export", "bq"], ["wait"]):
        proc = run_cli(*args, "--help")
        assert proc.returncode == 0
        for line in ("Exit codes:", "2    bad input", "3    the operation failed", "4    timeout",
                     "5    the operation was cancelled"):
            assert line in proc.stdout, (args, proc.stdout)


# -- export --------------------------------------------------------------------
def test_export_gcs_with_mime_type_and_filter(setup):
    setup.upload_synthetic("in", 4)
    assert run_cli("import", setup.store, setup.gs("in/*.dcm")).returncode == 0
    first = sampledata.uids_of(setup.bucket.blob("in/0000.dcm").download_as_bytes())
    setup.upload("filters/one.txt", f"/studies/{first.study}/series/{first.series}/instances/"
                                          f"{first.sop}\n".encode())
    proc = run_cli("export", "gcs", setup.store, setup.gs("out"), "--mime-type", "image/png",
                   "--filter", setup.gs("filters/one.txt"), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = _json(proc)
    assert summary["state"] == "SUCCEEDED" and summary["kind"] == "export"
    assert summary["counter"]["success"] == 1
    written = [b.name for b in setup.bucket.list_blobs(prefix="out/")]
    assert written == [f"out/{first.study}/{first.series}/{first.sop}.png"]
    export_op = setup.admin.store_operations()[-1]
    assert export_op["request"] == {"gcsDestination": {"uriPrefix": setup.gs("out"), "mimeType": "image/png"},
                                    "filterConfig": {"resourcePathsGcsUri": setup.gs("filters/one.txt")}}


def _imported_with_a_dataset(setup, stack, project: str, dataset: str, instances: int):
    """``instances`` synthetic instances imported with the CLI, and an empty BigQuery
    dataset: a client for it and the ``bq://`` URI of a table to export to."""
    setup.upload_synthetic("in", instances)
    assert run_cli("import", setup.store, setup.gs("in/*.dcm")).returncode == 0
    bq = bigquery.Client(project=project, credentials=AnonymousCredentials(),
                         client_options={"api_endpoint": stack.bigquery_url})
    bq.create_dataset(dataset)
    setup.admin.grant_agent(project, bq_datasets=[f"{project}.{dataset}"])
    return bq, f"bq://{project}.{dataset}.instances"


def test_export_bq_creates_the_table(setup, stack, project, unique):
    bq, table = _imported_with_a_dataset(setup, stack, project, f"cli_{unique}", instances=3)
    proc = run_cli("export", "bq", setup.store, table, "--write-disposition", "write_truncate",
                   "--include-source-store", "--schema", "json", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = _json(proc)
    assert summary["state"] == "SUCCEEDED" and summary["kind"] == "export to BigQuery"
    assert setup.admin.store_operations()[-1]["request"] == {"bigqueryDestination": {
        "tableUri": table, "writeDisposition": "WRITE_TRUNCATE", "includeSourceStore": True,
        "schemaJson": {}}}
    rows = list(bq.query(f"SELECT COUNT(*) AS n FROM `{project}.cli_{unique}.instances`").result())
    assert rows[0]["n"] == 3


def test_export_bq_runs_a_command_copied_from_gcloud(setup, stack, project, unique):
    """gcloud's ``--overwrite-table`` and ``--write-disposition write-append`` spellings work."""
    bq, table = _imported_with_a_dataset(setup, stack, project, f"gcloud_{unique}", instances=2)
    for flags, sent in ((["--overwrite-table"], {"force": True}),
                        (["--write-disposition", "write-append"], {"writeDisposition": "WRITE_APPEND"}),
                        (["--write-disposition", "write-truncate"], {"writeDisposition": "WRITE_TRUNCATE"})):
        proc = run_cli("export", "bq", setup.store, table, *flags)
        assert proc.returncode == 0, (flags, proc.stderr)
        assert setup.admin.store_operations()[-1]["request"] == {"bigqueryDestination": {"tableUri": table, **sent}}
    rows = list(bq.query(f"SELECT COUNT(*) AS n FROM `{project}.gcloud_{unique}.instances`").result())
    assert rows[0]["n"] == 2  # truncated last


def test_export_bq_missing_dataset_fails_with_exit_3(setup, project):
    # IAM is enforced and no grant can name a dataset that does not exist: BigQuery's
    # denial says so ("or it may not exist"), as it does on Google Cloud (no wait for a grant)
    proc = run_cli("export", "bq", setup.store, f"bq://{project}.no_such_dataset.t", "--force",
                   DICOM_JOBS_PERMISSION_RETRY_SECONDS="0")
    assert proc.returncode == 3, proc.stderr
    assert "PERMISSION_DENIED" in proc.stderr and "no_such_dataset (or it may not exist)" in proc.stderr


# -- async, wait, status, cancel -------------------------------------------------------
def test_async_then_wait_then_status(setup):
    setup.upload_synthetic("in", 6)
    setup.slow(0.1)
    started = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--async")
    assert started.returncode == 0, started.stderr
    name = started.stdout.strip()
    assert re.fullmatch(r"projects/\S+/operations/\d+", name), started.stdout
    assert f"dicom-jobs wait {name}" in started.stderr
    assert [op["name"] for op in setup.admin.store_operations()] == [name]

    running = run_cli("status", name, "--json")
    assert running.returncode == 0, running.stderr
    assert _json(running)["state"] in ("RUNNING", "SUCCEEDED")

    waited = run_cli("wait", name, "--json")
    assert waited.returncode == 0, waited.stderr
    summary = _json(waited)
    assert summary["name"] == name and summary["state"] == "SUCCEEDED"
    assert summary["counter"] == {"success": 6, "failure": 0, "pending": 0}

    status = run_cli("status", name)
    assert status.returncode == 0
    assert "state: SUCCEEDED" in status.stdout and "success=6 failure=0 pending=0" in status.stdout
    assert f"name: {name}" in status.stdout and "kind: import" in status.stdout


def test_async_json(setup):
    setup.upload_synthetic("in", 1)
    proc = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--async", "--json")
    assert proc.returncode == 0
    data = _json(proc)
    assert data["state"] == "RUNNING" and data["name"] == setup.admin.store_operations()[0]["name"]


def test_timeout_exits_4_and_cancels_the_operation(setup):
    setup.upload_synthetic("in", 10)
    setup.slow(1.0)
    proc = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--timeout", "1", "--json")
    assert proc.returncode == 4, proc.stderr
    assert "did not finish within --timeout 1;" in proc.stderr
    summary = _json(proc)
    assert summary["state"] == "TIMED_OUT" and summary["exitCode"] == 4
    op = setup.wait_done(summary["name"])
    assert op["error"]["code"] == 1 and op["metadata"]["cancelRequested"] is True


def test_wait_timeout_leaves_the_operation_running_unless_asked(setup):
    setup.upload_synthetic("in", 10)
    setup.slow(OUTLASTING_PACE_S)
    name = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--async").stdout.strip()
    proc = run_cli("wait", name, "--timeout", "0.5")
    assert proc.returncode == 4, proc.stderr
    assert setup.operation(name).get("done") is not True
    assert setup.operation(name)["metadata"]["cancelRequested"] is False
    proc = run_cli("wait", name, "--timeout", "0.5", "--cancel-on-timeout")
    assert proc.returncode == 4
    assert setup.wait_done(name)["error"]["code"] == 1


def test_cancel_a_slow_operation(setup):
    setup.upload_synthetic("in", 20)
    setup.slow(OUTLASTING_PACE_S)
    name = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--async").stdout.strip()
    proc = run_cli("cancel", name, "--json")
    assert proc.returncode == 0, proc.stderr
    data = _json(proc)
    assert data["name"] == name and data["cancelRequested"] is True
    assert data["state"] in ("CANCELLING", "CANCELLED")
    waited = run_cli("wait", name, "--json")
    assert waited.returncode == 5, waited.stderr
    assert _json(waited)["state"] == "CANCELLED"
    assert "was cancelled" in waited.stderr
    status = run_cli("status", name, "--json")
    assert _json(status)["state"] == "CANCELLED"
    assert _json(status)["counter"]["success"] < 20


def test_cancel_with_wait_exits_5(setup):
    setup.upload_synthetic("in", 20)
    setup.slow(OUTLASTING_PACE_S)
    name = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--async").stdout.strip()
    proc = run_cli("cancel", name, "--wait")
    assert proc.returncode == 5, proc.stderr
    assert setup.operation(name)["error"]["code"] == 1


def test_unknown_operation_exits_6(setup):
    name = f"{setup.dataset}/operations/1234567890123456789"
    for command in ("status", "wait", "cancel"):
        proc = run_cli(command, name, "--json")
        assert proc.returncode == 6, (command, proc.stderr)
        assert "was not found (the API answered 404). Check the name for a typo" in proc.stderr
        assert _json(proc)["state"] == "NOT_FOUND"


# -- Ctrl-C without a terminal ---------------------------------------------------------
def test_interrupt_without_tty_leaves_the_operation_running(setup):
    setup.upload_synthetic("in", 20)
    setup.slow(OUTLASTING_PACE_S)
    run = LineReader("import", setup.store, setup.gs("in/*.dcm"))
    run.wait_for("Started import operation")
    name = op_name_in(run.stdout)
    run.proc.send_signal(2)  # SIGINT
    assert run.finish() == 130, run.stderr
    assert f"Resume waiting with: dicom-jobs wait {name}" in run.stderr
    op = setup.operation(name)
    assert op.get("done") is not True and op["metadata"]["cancelRequested"] is False
    setup.slow(0.0)  # let it finish: the hint's command picks it up
    resumed = run_cli("wait", name)
    assert resumed.returncode == 0, resumed.stderr


def test_interrupt_without_tty_with_cancel_on_interrupt(setup):
    setup.upload_synthetic("in", 20)
    setup.slow(OUTLASTING_PACE_S)
    run = LineReader("import", setup.store, setup.gs("in/*.dcm"), "--cancel-on-interrupt", "--json")
    run.wait_for("Started import operation")
    name = op_name_in(run.stderr)
    run.proc.send_signal(2)
    assert run.finish() == 5, run.stderr
    assert json.loads(run.stdout)["state"] == "CANCELLED"
    op = setup.operation(name)
    assert op["done"] is True and op["error"]["code"] == 1


# -- secrets -------------------------------------------------------------------------------
def test_no_token_is_ever_printed(setup):
    setup.upload_synthetic("in", 1)
    setup.upload("in/broken.dcm", sampledata.broken_file())
    secret = "ya29.super-secret-access-token"
    outputs = []
    for args in (["import", setup.store, setup.gs("in/*.dcm"), "--json"],
                 ["import", setup.store, setup.gs("in/*.dcm")],
                 ["import", "bad", setup.gs("in/*.dcm")]):
        proc = run_cli(*args, GOOGLE_OAUTH_ACCESS_TOKEN=secret)
        outputs.append(proc.stdout + proc.stderr)
    name = op_name_in(outputs[0])
    for command in ("status", "wait"):
        proc = run_cli(command, name, GOOGLE_OAUTH_ACCESS_TOKEN=secret)
        outputs.append(proc.stdout + proc.stderr)
    text = "\n".join(outputs)
    assert secret not in text
    assert "healthcare-emulator-dummy-token" not in text
    assert "Bearer" not in text and "Authorization" not in text
