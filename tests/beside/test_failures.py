"""pulumi_dicom_jobs.failures: the hint a permission denial gets, the role and where to grant
it, from the service's words and the job's request (targets)."""

from __future__ import annotations

import pytest

from pulumi_dicom_jobs import failures
from pulumi_dicom_jobs.kinds import JobKind
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
