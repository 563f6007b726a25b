"""pulumi_dicom_jobs.kinds.JobKind, and the in-flight failure whose commands the faces add."""

from __future__ import annotations

import pytest

from support.operations import snapshot
from pulumi_dicom_jobs.command_lines import wait_and_cancel_commands
from pulumi_dicom_jobs.failures import JobInFlight
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
