"""pulumi_dicom_jobs.gcp.components: bucket/dataset, grants and job, wired together."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pytest

from support.graph import AGENT_MEMBER, GET_PROJECT, assert_least_privilege, grants_of, is_grant, run_callable
from pulumi_dicom_jobs.gcp.components import DicomBigQueryExport, DicomGcsExport, DicomGcsImport

STORE = "projects/img-proj/locations/europe-west4/datasets/imaging/dicomStores/main"
CONFIG = {"gcp:project": "img-proj"}
PREFIX = "dicom-jobs:components"


def _job(graph, name):
    jobs = [r for r in graph.jobs if r.name == name]
    assert len(jobs) == 1, [r.urn for r in graph.jobs]
    return jobs[0]


def _component(graph, name, kind):
    return graph.by_name(name, f"{PREFIX}:{kind}")


def assert_job_depends_on_its_grants(graph, component_name, kind):
    component = _component(graph, component_name, kind)
    job = _job(graph, component_name)
    assert job.parent == component.urn
    grants = [r for r in graph.children(component) if is_grant(r)]
    assert grants, f"{component_name} made no grants"
    for grant in grants:
        assert graph.directly_depends_on(job, grant), f"job {job.name} does not depend on {grant.name}"
    return component, job, grants


def test_gcs_import_existing_bucket():
    def program():
        imp = DicomGcsImport("ct", dicom_store=STORE, bucket="scans", pattern="ct/**.dcm",
                             max_failed_instances=2, blob_storage_class="ARCHIVE", triggers=["a"])
        pulumi.export("uri", imp.source_uri)
        pulumi.export("count", imp.success_count)
        pulumi.export("op", imp.operation_name)

    graph = run_callable(program, CONFIG)
    component, job, grants = assert_job_depends_on_its_grants(graph, "ct", "DicomGcsImport")
    assert [r.name for r in grants] == ["ct-source-reader"]
    assert grants_of(graph) == [("bucket", "roles/storage.objectViewer", AGENT_MEMBER, "scans")]
    assert not graph.of_type("gcp:storage/bucket:Bucket"), "no bucket unless create_bucket"
    assert job.inputs["dicom_store"] == STORE
    assert job.inputs["gcs_source"] == {"uri": "gs://scans/ct/**.dcm"}
    assert job.inputs["blob_storage_settings"] == {"blob_storage_class": "ARCHIVE"}
    assert job.inputs["max_failed_instances"] == 2
    assert job.inputs["triggers"] == ["a"]
    assert graph.outputs["uri"] == "gs://scans/ct/**.dcm"
    assert graph.outputs["count"] == 3
    assert graph.outputs["op"].startswith("projects/img-proj/locations/europe-west4/datasets/imaging/operations/")
    # the agent is looked up for the store's project
    assert (GET_PROJECT, {"projectId": "img-proj"}) in graph.calls
    # stable names and URNs
    assert component.urn == graph.urn(f"{PREFIX}:DicomGcsImport", "ct")
    assert grants[0].urn == graph.urn(f"{PREFIX}:DicomGcsImport$gcp:storage/bucketIAMMember:BucketIAMMember", "ct-source-reader")
    assert job.urn.endswith(f"::{PREFIX}:DicomGcsImport${job.type}::ct")
    assert_least_privilege(graph)


def test_gcs_import_creates_bucket_in_store_region():
    def program():
        DicomGcsImport("landing", dicom_store=STORE, bucket="landing-zone", create_bucket=True)

    graph = run_callable(program, CONFIG)
    bucket = graph.by_name("landing-bucket")
    assert bucket.inputs["name"] == "landing-zone"
    assert bucket.inputs["location"] == "europe-west4"
    assert bucket.inputs["uniformBucketLevelAccess"] is True
    assert bucket.inputs.get("forceDestroy") is False
    grant = graph.by_name("landing-source-reader")
    assert bucket.urn in grant.dependencies, "grant waits for the bucket"
    job = _job(graph, "landing")
    assert graph.depends_on(job, bucket)
    assert job.inputs["gcs_source"] == {"uri": "gs://landing-zone/**.dcm"}


def test_gcs_import_validates():
    def program():
        with pytest.raises(ValueError):
            DicomGcsImport("a", dicom_store=STORE)
        with pytest.raises(ValueError):
            DicomGcsImport("b", dicom_store=STORE, bucket="x-bucket", pattern="gs://x-bucket/**")

    run_callable(program, CONFIG)


def test_gcs_export_with_filter():
    def program():
        exp = DicomGcsExport("png", dicom_store=STORE, bucket="renders", prefix="/png", mime_type="image/png",
                             filter_file="gs://filters/x.txt", timeout_seconds=600)
        pulumi.export("prefix", exp.uri_prefix)

    graph = run_callable(program, CONFIG)
    component, job, grants = assert_job_depends_on_its_grants(graph, "png", "DicomGcsExport")
    assert sorted(r.name for r in grants) == ["png-export-writer", "png-filter-reader"]
    assert grants_of(graph) == sorted([
        ("bucket", "roles/storage.objectAdmin", AGENT_MEMBER, "renders"),
        ("bucket", "roles/storage.objectViewer", AGENT_MEMBER, "filters"),
    ])
    bucket = graph.by_name("png-bucket")
    assert bucket.parent == component.urn
    assert bucket.inputs["location"] == "europe-west4"
    assert job.inputs["gcs_destination"] == {"uri_prefix": "gs://renders/png", "mime_type": "image/png"}
    assert job.inputs["filter_config"] == {"resource_paths_gcs_uri": "gs://filters/x.txt"}
    assert job.inputs["timeout_seconds"] == 600
    assert graph.outputs["prefix"] == "gs://renders/png"
    assert_least_privilege(graph)


def test_gcs_export_without_bucket_creation_or_mime_type():
    def program():
        DicomGcsExport("raw", dicom_store=STORE, bucket="gs://existing/", create_bucket=False)

    graph = run_callable(program, CONFIG)
    assert not graph.of_type("gcp:storage/bucket:Bucket")
    job = _job(graph, "raw")
    assert job.inputs["gcs_destination"] == {"uri_prefix": "gs://existing"}
    assert "filter_config" not in job.inputs


def test_bigquery_export_same_project():
    def program():
        exp = DicomBigQueryExport("meta", dicom_store=STORE, dataset_id="dicom_meta", table="instances",
                                  write_disposition="WRITE_TRUNCATE", include_source_store=True, schema="JSON")
        pulumi.export("table", exp.table_uri)

    graph = run_callable(program, CONFIG)
    component, job, grants = assert_job_depends_on_its_grants(graph, "meta", "DicomBigQueryExport")
    assert sorted(r.name for r in grants) == ["meta-bq-data-editor", "meta-bq-job-user"]
    assert grants_of(graph) == sorted([
        ("dataset", "roles/bigquery.dataEditor", AGENT_MEMBER, "img-proj.dicom_meta"),
        ("project", "roles/bigquery.jobUser", AGENT_MEMBER, "img-proj"),
    ])
    dataset = graph.by_name("meta-dataset")
    assert dataset.inputs["datasetId"] == "dicom_meta"
    assert dataset.inputs["project"] == "img-proj"
    assert dataset.inputs["location"] == "europe-west4"
    assert dataset.inputs.get("deleteContentsOnDestroy") is False
    assert dataset.urn in graph.by_name("meta-bq-data-editor").dependencies
    assert job.inputs["bigquery_destination"] == {
        "table_uri": "bq://img-proj.dicom_meta.instances",
        "write_disposition": "WRITE_TRUNCATE",
        "include_source_store": True,
        "schema": "JSON",
    }
    assert graph.outputs["table"] == "bq://img-proj.dicom_meta.instances"
    assert_least_privilege(graph)


def test_bigquery_export_cross_project_grants_in_destination_project():
    def program():
        DicomBigQueryExport("meta", dicom_store=STORE, project="analytics", dataset_id="dicom_meta",
                            table="instances", create_dataset=False, force=True,
                            filter_file="gs://filters/studies.txt")

    graph = run_callable(program, CONFIG)
    assert not graph.of_type("gcp:bigquery/dataset:Dataset")
    assert grants_of(graph) == sorted([
        ("dataset", "roles/bigquery.dataEditor", AGENT_MEMBER, "analytics.dicom_meta"),
        ("project", "roles/bigquery.jobUser", AGENT_MEMBER, "analytics"),
        ("bucket", "roles/storage.objectViewer", AGENT_MEMBER, "filters"),
    ])
    # the agent is still the *store's* project's
    assert (GET_PROJECT, {"projectId": "img-proj"}) in graph.calls
    job = _job(graph, "meta")
    assert job.inputs["bigquery_destination"] == {"table_uri": "bq://analytics.dicom_meta.instances", "force": True}
    assert_job_depends_on_its_grants(graph, "meta", "DicomBigQueryExport")
    assert_least_privilege(graph)


def test_bigquery_export_force_and_write_disposition_exclusive():
    def program():
        with pytest.raises(ValueError, match="ignored by the API when write_disposition is set"):
            DicomBigQueryExport("x", dicom_store=STORE, dataset_id="d", table="t", write_disposition="WRITE_EMPTY", force=True)
        # force=False changes nothing beside a disposition (it is not even sent): accepted, as check does.
        DicomBigQueryExport("y", dicom_store=STORE, dataset_id="d", table="t", write_disposition="WRITE_APPEND",
                            force=False)

    run_callable(program, CONFIG)


def test_component_depends_on_reaches_the_job_and_shared_grants():
    def program():
        imp = DicomGcsImport("ct", dicom_store=STORE, bucket="scans")
        shared = gcp.storage.BucketIAMMember("shared-writer", bucket="out", role="roles/storage.objectAdmin",
                                             member=AGENT_MEMBER)
        DicomGcsExport("png", dicom_store=STORE, bucket="out", create_bucket=False, grants=[shared],
                       service_agent=AGENT_MEMBER, opts=pulumi.ResourceOptions(depends_on=[imp]))

    graph = run_callable(program, CONFIG)
    export_job, import_job = _job(graph, "png"), _job(graph, "ct")
    assert graph.directly_depends_on(export_job, import_job), "export ordered after import"
    assert graph.directly_depends_on(export_job, graph.by_name("shared-writer"))
    assert not [r for r in graph.children(_component(graph, "png", "DicomGcsExport")) if is_grant(r)], \
        "grants= given: the component makes none"
    # service_agent= given: only the import looked the agent up
    assert [c for c in graph.calls if c[0] == GET_PROJECT] == [(GET_PROJECT, {"projectId": "img-proj"})]


def test_store_id_output_flows_into_everything():
    """``healthcare.DicomStore.id`` is a valid ``dicom_store``: project and region come from it."""

    def program():
        ds = gcp.healthcare.Dataset("ds", name="imaging", location="asia-east1", project="other")
        store = gcp.healthcare.DicomStore("store", name="s", dataset=ds.id)
        DicomGcsExport("png", dicom_store=store.id, bucket="renders")

    graph = run_callable(program, CONFIG)
    assert graph.by_name("png-bucket").inputs["location"] == "asia-east1"
    assert (GET_PROJECT, {"projectId": "other"}) in graph.calls
    job = _job(graph, "png")
    assert job.inputs["dicom_store"] == "projects/other/locations/asia-east1/datasets/imaging/dicomStores/s"
    assert graph.directly_depends_on(job, graph.by_name("store"))
