"""pulumi_dicom_jobs.failures: the hint a permission denial gets, the role and where to grant
it, from the service's words and the job's request (targets)."""

from __future__ import annotations

import pytest

from pulumi_dicom_jobs import failures
from support.operations import operation
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.targets import JobTargets


@pytest.mark.parametrize("role,helper", [("roles/storage.objectAdmin", "gcs_export_grants"),
                                         ("roles/bigquery.dataEditor", "bigquery_export_grants"),
                                         ("roles/bigquery.jobUser", "bigquery_export_grants")])
def test_permission_hint_names_helper(role: str, helper: str) -> None:
    hint = failures.permission_hint(f"service-1@gcp-sa-healthcare.iam.gserviceaccount.com needs {role}")
    assert role in hint and f"pulumi_dicom_jobs.gcp.grants.{helper}" in hint
    assert failures.permission_hint("some other denial") is None


AGENT = "service-1@gcp-sa-healthcare.iam.gserviceaccount.com"
DENIALS = [  # what Cloud Storage and BigQuery say, the request, and the grant the hint must name
    (f"{AGENT} does not have storage.objects.list access to the Google Cloud Storage bucket src.",
     JobKind.IMPORT, {"gcsSource": {"uri": "gs://src/dir/**"}},
     "grant roles/storage.objectViewer on bucket src to serviceAccount:" + AGENT, "import_source_grants"),
    (f"{AGENT} does not have storage.objects.create access to the Google Cloud Storage bucket out.",
     JobKind.EXPORT_GCS, {"gcsDestination": {"uriPrefix": "gs://out/x"}},
     "grant roles/storage.objectAdmin on bucket out to serviceAccount:" + AGENT, "gcs_export_grants"),
    (f"{AGENT} does not have storage.objects.get access to the Google Cloud Storage bucket flt.",
     JobKind.EXPORT_GCS, {"gcsDestination": {"uriPrefix": "gs://out/x"},
                          "filterConfig": {"resourcePathsGcsUri": "gs://flt/f.txt"}},
     "grant roles/storage.objectViewer on bucket flt to serviceAccount:" + AGENT, "filter_file_grants"),
    (f"Permission bigquery.tables.create denied on dataset p:d (or it may not exist) for {AGENT}.",
     JobKind.EXPORT_BIGQUERY, {"bigqueryDestination": {"tableUri": "bq://p.d.t"}},
     "grant roles/bigquery.dataEditor on dataset p:d and roles/bigquery.jobUser on project p to "
     "serviceAccount:" + AGENT, "bigquery_export_grants"),
]


@pytest.mark.parametrize("message,kind,body,grant,helper", DENIALS)
def test_permission_hint_turns_a_missing_permission_into_the_role_and_where(message, kind, body, grant,
                                                                           helper) -> None:
    hint = failures.permission_hint(message, JobTargets.of_request(kind, body))
    assert hint is not None and grant in hint, hint
    assert f"pulumi_dicom_jobs.gcp.grants.{helper}" in hint



def test_a_message_naming_an_input_is_written_in_each_faces_words() -> None:
    status = OperationStatus.from_json(operation("projects/p/locations/l/datasets/d/operations/7", done=True,
                                                 success=2, failure=1))
    failure = failures.operation_failure(
        "too_many_failures", lambda words: f"1 failed, more than {words('max_failed_instances', 0)}", status)
    assert str(failure).splitlines()[0] == ("1 failed, more than max_failed_instances=0 "
                                            "(operation projects/p/locations/l/datasets/d/operations/7)")
    flags = failure.in_words(lambda name, value: f"--{name} {value}")
    assert flags.splitlines()[0] == ("1 failed, more than --max_failed_instances 0 "
                                     "(operation projects/p/locations/l/datasets/d/operations/7)")
    assert flags.splitlines()[1:] == str(failure).splitlines()[1:]
    plain = failures.JobFailed("timeout", "no input named here")
    assert plain.in_words(lambda name, value: "?") == str(plain) == "no input named here"


@pytest.mark.parametrize("value, shown", [(1, "1"), (0.5, "0.5"), (21600.0, "21600"), (False, "False"), ("x", "x")])
def test_the_resources_words_for_an_input(value: object, shown: str) -> None:
    assert failures.resource_words("some_input", value) == f"some_input={shown}"
