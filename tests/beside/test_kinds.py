"""pulumi_dicom_jobs.kinds.JobKind, and the in-flight failure whose commands the faces add."""

from __future__ import annotations

import pytest

from support.operations import snapshot
from pulumi_dicom_jobs import command_lines
from pulumi_dicom_jobs.command_lines import wait_and_cancel_commands, with_commands
from pulumi_dicom_jobs.failures import JobFailed, JobInFlight
from pulumi_dicom_jobs.kinds import JobKind

PREFIX = "google.cloud.healthcare.v1.dicom.DicomService."


@pytest.mark.parametrize("kind,verb,noun,method", [
    (JobKind.IMPORT, "import", "import", "ImportDicomData"),
    (JobKind.EXPORT_GCS, "export", "export", "ExportDicomData"),
    (JobKind.EXPORT_BIGQUERY, "export", "export to BigQuery", "ExportDicomData_bq"),
])
def test_kind_words_and_method_names(kind: JobKind, verb: str, noun: str, method: str) -> None:
    assert (kind.verb, kind.noun) == (verb, noun)
    assert kind.api_method_name("v1") == PREFIX + method
    assert kind.api_method_name("v1beta1") == PREFIX.replace("v1", "v1beta1") + method
    assert JobKind.of_method_name(PREFIX + method) is kind
    status = snapshot("n", method=PREFIX + method)
    assert JobKind.of_method_name(status.api_method_name) is kind
    assert kind.is_export is (kind is not JobKind.IMPORT)


def test_kind_of_a_request_and_of_nothing() -> None:
    assert JobKind.of_request(False, {"gcsSource": {}}) is JobKind.IMPORT
    assert JobKind.of_request(True, {"gcsDestination": {}}) is JobKind.EXPORT_GCS
    assert JobKind.of_request(True, {"bigqueryDestination": {}}) is JobKind.EXPORT_BIGQUERY
    assert JobKind.of_method_name(None) is None and JobKind.of_method_name("x.Other") is None
    assert JobKind.of_method_name(snapshot("n").api_method_name) is None


def test_in_flight_message_speaks_no_cli_until_a_face_adds_its_commands() -> None:
    failure = JobInFlight(["did not start", "  - op-1"], ["op-1"], "DICOM_JOBS_IN_FLIGHT_CHECK")
    assert failure.reason == "in_flight" and "dicom-jobs" not in str(failure)
    assert str(failure).endswith("To proceed: wait for it to finish or cancel it, then run again. If these "
                                 "are unrelated jobs you mean to run concurrently in this dataset, set "
                                 "DICOM_JOBS_IN_FLIGHT_CHECK=off.")
    hinted = failure.with_commands(*wait_and_cancel_commands(failure.operation_ref, "v1"))
    assert isinstance(hinted, JobInFlight) and hinted.reason == "in_flight"
    assert ("wait for it to finish (dicom-jobs wait op-1) or cancel it (dicom-jobs cancel op-1), "
            "then run again") in str(hinted)
    several = JobInFlight(["x"], ["a", "b"], "K").with_commands(
        *wait_and_cancel_commands(JobInFlight(["x"], ["a", "b"], "K").operation_ref, "v1beta1"))
    assert ("wait for each to finish (dicom-jobs wait OPERATION --api-version v1beta1) or cancel it "
            "(dicom-jobs cancel OPERATION --api-version v1beta1)") in str(several)


def test_every_face_adds_the_commands_through_one_function() -> None:
    """``with_commands``: a JobInFlight gains the wait and cancel lines, anything else is kept as is."""
    failure = JobInFlight(["did not start"], ["op-1"], "K")
    assert str(with_commands(failure, "v1")) == str(failure.with_commands(
        "dicom-jobs wait op-1", "dicom-jobs cancel op-1"))
    other = JobFailed("timeout", "did not finish")
    assert with_commands(other, "v1beta1") is other


def test_each_command_line_is_spelled_once() -> None:
    assert command_lines.wait_command("op-1") == "dicom-jobs wait op-1"
    assert command_lines.wait_command("op-1", "v1beta1", "http://127.0.0.1:9") == \
        "dicom-jobs wait op-1 --api-version v1beta1 --endpoint http://127.0.0.1:9"
    assert command_lines.cancel_command("op-1", "v1beta1") == "dicom-jobs cancel op-1 --api-version v1beta1"
    assert command_lines.status_command("op-1") == "dicom-jobs status op-1"
