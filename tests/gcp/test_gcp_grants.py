"""pulumi_dicom_jobs.gcp.grants: the service agent and grant helpers (names: tests/beside/test_names.py)."""

from __future__ import annotations

import pulumi
import pytest

from support.graph import AGENT_MEMBER, GET_PROJECT, PROJECT_NUMBER, assert_least_privilege, grants_of, run_callable
from pulumi_dicom_jobs import failures, targets
from pulumi_dicom_jobs.gcp import grants as g

BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
DATASET_MEMBER = "gcp:bigquery/datasetIamMember:DatasetIamMember"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"


# --- plain helpers ---------------------------------------------------------------


def test_service_agent_member_format():
    assert g.service_agent_email(123) == "service-123@gcp-sa-healthcare.iam.gserviceaccount.com"
    assert g.service_agent_member(PROJECT_NUMBER) == AGENT_MEMBER
    with pytest.raises(ValueError):
        g.service_agent_member("my-project")


def test_the_roles_granted_are_the_ones_the_permission_hints_name() -> None:
    """The roles are named once (targets): the helpers grant them, the hints name them and a helper."""
    granted = (g.ROLE_OBJECT_VIEWER, g.ROLE_OBJECT_ADMIN, g.ROLE_BQ_DATA_EDITOR, g.ROLE_BQ_JOB_USER)
    named = (targets.ROLE_OBJECT_VIEWER, targets.ROLE_OBJECT_ADMIN, targets.ROLE_DATA_EDITOR,
             targets.ROLE_JOB_USER)
    assert all(a is b for a, b in zip(granted, named))
    for role in named:
        hint = failures.permission_hint(f"service-1@gcp-sa-healthcare.iam.gserviceaccount.com needs {role}")
        assert f"grant {role} " in hint and "(see pulumi_dicom_jobs.gcp.grants." in hint, hint


# --- the service agent Output -------------------------------------------------------


def test_healthcare_service_agent_uses_get_project():
    def program():
        pulumi.export("agent", g.healthcare_service_agent("other-project"))
        pulumi.export("default", g.healthcare_service_agent())

    graph = run_callable(program, {"gcp:project": "p"})
    assert graph.outputs == {"agent": AGENT_MEMBER, "default": AGENT_MEMBER}
    asked = [args.get("projectId") for token, args in graph.calls if token == GET_PROJECT]
    assert sorted(asked, key=str) == sorted(["other-project", None], key=str)
    assert graph.resources == {}, "looking up the agent must not create resources"


# --- per-job helpers ------------------------------------------------------------------


def _all_helpers():
    agent = g.healthcare_service_agent("p")
    made = {
        "import": g.import_source_grants("ct", bucket="gs://scans/ct/**.dcm", member=agent),
        "gcs": g.gcs_export_grants("png", bucket="renders", member=agent),
        "bq": g.bigquery_export_grants("meta", table_uri="bq://analytics.dicom_meta.instances", member=agent),
        "bq2": g.bigquery_export_grants("meta2", project="p", dataset_id="ds2", member=agent),
        "filter": g.filter_file_grants("meta", filter_uri="gs://filters/f/studies.txt", member=agent),
    }
    pulumi.export("counts", {key: len(value) for key, value in made.items()})


def test_helpers_create_exactly_the_documented_grants():
    graph = run_callable(_all_helpers, {"gcp:project": "p"})
    assert graph.outputs["counts"] == {"import": 1, "gcs": 1, "bq": 2, "bq2": 2, "filter": 1}
    assert grants_of(graph) == sorted(
        [
            ("bucket", "roles/storage.objectViewer", AGENT_MEMBER, "scans"),
            ("bucket", "roles/storage.objectAdmin", AGENT_MEMBER, "renders"),
            ("dataset", "roles/bigquery.dataEditor", AGENT_MEMBER, "analytics.dicom_meta"),
            ("project", "roles/bigquery.jobUser", AGENT_MEMBER, "analytics"),
            ("dataset", "roles/bigquery.dataEditor", AGENT_MEMBER, "p.ds2"),
            ("project", "roles/bigquery.jobUser", AGENT_MEMBER, "p"),
            ("bucket", "roles/storage.objectViewer", AGENT_MEMBER, "filters"),
        ]
    )
    assert_least_privilege(graph)
    assert sorted(graph.names()) == sorted(
        [
            "ct-source-reader",
            "png-export-writer",
            "meta-bq-data-editor",
            "meta-bq-job-user",
            "meta2-bq-data-editor",
            "meta2-bq-job-user",
            "meta-filter-reader",
        ]
    )
    assert graph.by_name("ct-source-reader").type == BUCKET_MEMBER
    assert graph.by_name("meta-bq-data-editor").type == DATASET_MEMBER
    assert graph.by_name("meta-bq-job-user").type == PROJECT_MEMBER
    # the cross-project export: both BigQuery grants in the destination project
    assert graph.by_name("meta-bq-data-editor").inputs["project"] == "analytics"
    assert graph.by_name("meta-bq-job-user").inputs["project"] == "analytics"


def test_bigquery_grants_need_a_destination():
    def program():
        with pytest.raises(ValueError):
            g.bigquery_export_grants("x", member=AGENT_MEMBER)
        with pytest.raises(ValueError):
            g.bigquery_export_grants("x", member=AGENT_MEMBER, table_uri="bq://p.d.t", project="p")

    graph = run_callable(program, {"gcp:project": "p"})
    assert graph.resources == {}


# --- GrantSet ---------------------------------------------------------------------------


def test_grant_set_creates_each_grant_once():
    def program():
        grants = g.GrantSet(AGENT_MEMBER)
        a = grants.import_source("gs://scans/a/**.dcm")
        b = grants.import_source("scans")
        f = grants.filter_file("gs://scans/filters/x.txt")
        w = grants.gcs_export("scans")
        q1 = grants.bigquery_export("p", "ds")
        q2 = grants.bigquery_export("p", "other_ds")
        assert a[0] is b[0] is f[0]
        assert w[0] is not a[0]
        assert q1[1] is q2[1], "one jobUser grant per project"
        assert q1[0] is not q2[0]
        assert len(grants.resources) == 5
        with pytest.raises(TypeError):
            grants.gcs_export(pulumi.Output.from_input("late"))

    graph = run_callable(program, {"gcp:project": "p"})
    assert sorted(graph.names()) == sorted(
        ["scans-reader", "scans-writer", "p-ds-bq-data-editor", "p-other-ds-bq-data-editor", "p-bq-job-user"]
    )
    assert_least_privilege(graph)


def test_grant_set_prefix_and_depends_on():
    def program():
        import pulumi_gcp as gcp

        bucket = gcp.storage.Bucket("b", name="made", location="US")
        grants = g.GrantSet(AGENT_MEMBER, prefix="Env One")
        grants.gcs_export("made", depends_on=[bucket])

    graph = run_callable(program, {"gcp:project": "p"})
    grant = graph.by_name("env-one-made-writer")
    assert graph.by_name("b").urn in grant.dependencies
