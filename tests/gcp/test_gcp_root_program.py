"""The root program (/work/main/__main__.py) under mocks with a full config."""

from __future__ import annotations

import re
from pathlib import Path

import pulumi
import pytest
import yaml

from support.graph import AGENT_MEMBER, assert_least_privilege, grants_of, is_grant, run_program

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "__main__.py"
PREFIX = "dicom-jobs:components"

FULL_CONFIG = {
    "gcp:project": "img-proj",
    "location": "europe-west4",
    "dataset": "imaging",
    "store": "main",
    "triggers": ["t1"],
    "imports": [
        {"name": "ct", "bucket": "ct-archive", "pattern": "ct/**.dcm", "max_failed_instances": 0,
         "blob_storage_class": "ARCHIVE"},
        {"name": "mr", "bucket": "mr-landing", "create_bucket": True, "triggers": ["mr-2"]},
        {"name": "ct-extra", "bucket": "gs://ct-archive", "pattern": "extra/*.dcm"},
    ],
    "exports": [
        {"name": "png", "kind": "gcs", "bucket": "renders", "prefix": "png", "mime_type": "image/png"},
        {"name": "jpeg", "kind": "gcs", "bucket": "renders", "prefix": "jpeg", "mime_type": "image/jpeg"},
        {"name": "raw", "kind": "gcs", "bucket": "existing-out", "create_bucket": False},
        {"name": "meta", "kind": "bigquery", "dataset": "dicom_meta", "table": "instances",
         "write_disposition": "WRITE_TRUNCATE", "include_source_store": True, "schema": "FLATTENED",
         "filter_file": "gs://ct-archive/filters/ct.txt"},
        {"name": "meta-x", "kind": "bigquery", "project": "analytics", "dataset": "shared", "table": "dicom",
         "create_dataset": False, "force": True, "filter_file": "gs://filter-files/x.txt"},
    ],
}

STORE_ID = "projects/img-proj/locations/europe-west4/datasets/imaging/dicomStores/main"


@pytest.fixture(scope="module")
def graph():
    return run_program(PROGRAM, FULL_CONFIG)


def _job(graph, name):
    [job] = [r for r in graph.jobs if r.name == name]
    return job


def test_project_file():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "dicom-environment"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert project.get("main") in (None, "__main__.py", ".")


def test_healthcare_dataset_and_store(graph):
    dataset = graph.by_name("healthcare-dataset", "gcp:healthcare/dataset:Dataset")
    store = graph.by_name("dicom-store", "gcp:healthcare/dicomStore:DicomStore")
    assert dataset.inputs["name"] == "imaging"
    assert dataset.inputs["location"] == "europe-west4"
    assert store.inputs["name"] == "main"
    assert dataset.urn in store.dependencies
    assert dataset.retain_on_delete and store.retain_on_delete, "destroy keeps the store and its instances"
    assert graph.outputs["dicom_store"] == STORE_ID
    assert graph.outputs["service_agent"] == AGENT_MEMBER


def test_buckets_and_datasets_created_once(graph):
    buckets = graph.of_type("gcp:storage/bucket:Bucket")
    assert sorted(b.name for b in buckets) == ["bucket-mr-landing", "bucket-renders"]
    for bucket in buckets:
        assert bucket.inputs["location"] == "europe-west4"
        assert bucket.inputs["uniformBucketLevelAccess"] is True
        assert bucket.inputs["forceDestroy"] is False
    [dataset] = graph.of_type("gcp:bigquery/dataset:Dataset")
    assert dataset.name == "bq-dicom_meta"
    assert dataset.inputs["datasetId"] == "dicom_meta"
    assert dataset.inputs["project"] == "img-proj"
    assert dataset.inputs["deleteContentsOnDestroy"] is False


def test_exact_grants(graph):
    viewer, admin = "roles/storage.objectViewer", "roles/storage.objectAdmin"
    assert grants_of(graph) == sorted([
        ("bucket", viewer, AGENT_MEMBER, "ct-archive"),  # ct, ct-extra and meta's filter file: once
        ("bucket", viewer, AGENT_MEMBER, "mr-landing"),
        ("bucket", viewer, AGENT_MEMBER, "filter-files"),
        ("bucket", admin, AGENT_MEMBER, "renders"),  # png and jpeg: once
        ("bucket", admin, AGENT_MEMBER, "existing-out"),
        ("dataset", "roles/bigquery.dataEditor", AGENT_MEMBER, "img-proj.dicom_meta"),
        ("project", "roles/bigquery.jobUser", AGENT_MEMBER, "img-proj"),
        ("dataset", "roles/bigquery.dataEditor", AGENT_MEMBER, "analytics.shared"),
        ("project", "roles/bigquery.jobUser", AGENT_MEMBER, "analytics"),
    ])
    assert_least_privilege(graph)
    assert sorted(r.name for r in graph.resources.values() if is_grant(r)) == sorted([
        "ct-archive-reader", "mr-landing-reader", "filter-files-reader", "renders-writer", "existing-out-writer",
        "img-proj-dicom-meta-bq-data-editor", "img-proj-bq-job-user",
        "analytics-shared-bq-data-editor", "analytics-bq-job-user",
    ])


def test_grants_wait_for_what_they_grant_on(graph):
    agent = graph.by_name("project-healthcare-agent")  # gcp.projects.ServiceIdentity
    api = graph.by_name("project-healthcare-api")  # gcp.projects.Service
    assert api.urn in agent.dependencies and api.inputs["disableOnDestroy"] is False
    assert api.urn in graph.by_name("healthcare-dataset").dependencies, "the dataset waits for the API"
    for grant in (r for r in graph.resources.values() if is_grant(r)):
        assert agent.urn in grant.dependencies, f"{grant.name} before the agent exists"
    assert graph.by_name("bucket-mr-landing").urn in graph.by_name("mr-landing-reader").dependencies
    assert graph.by_name("bucket-renders").urn in graph.by_name("renders-writer").dependencies
    assert graph.by_name("bq-dicom_meta").urn in graph.by_name("img-proj-dicom-meta-bq-data-editor").dependencies


def test_jobs_depend_on_their_grants(graph):
    expect = {
        "ct": ["ct-archive-reader"],
        "ct-extra": ["ct-archive-reader"],
        "mr": ["mr-landing-reader"],
        "png": ["renders-writer"],
        "jpeg": ["renders-writer"],
        "raw": ["existing-out-writer"],
        "meta": ["img-proj-dicom-meta-bq-data-editor", "img-proj-bq-job-user", "ct-archive-reader"],
        "meta-x": ["analytics-shared-bq-data-editor", "analytics-bq-job-user", "filter-files-reader"],
    }
    assert sorted(r.name for r in graph.jobs) == sorted(expect)
    for job_name, grant_names in expect.items():
        job = _job(graph, job_name)
        for grant_name in grant_names:
            assert graph.directly_depends_on(job, graph.by_name(grant_name)), (job_name, grant_name)


def test_exports_run_after_every_import(graph):
    imports = [_job(graph, n) for n in ("ct", "ct-extra", "mr")]
    for name in ("png", "jpeg", "raw", "meta", "meta-x"):
        for imp in imports:
            assert graph.directly_depends_on(_job(graph, name), imp), (name, imp.name)
    for imp in imports:
        assert not any(graph.depends_on(imp, _job(graph, n)) for n in ("png", "meta"))


def test_every_job_passes_its_providers_check(graph):
    assert sorted(graph.checked) == sorted(
        [(n, "DicomImportJobProvider") for n in ("ct", "ct-extra", "mr")]
        + [(n, "DicomExportJobProvider") for n in ("png", "jpeg", "raw", "meta", "meta-x")]
    )


def test_invalid_job_option_is_caught_by_the_provider_check():
    bad = {"gcp:project": "p", "dataset": "d", "store": "s",
           "exports": [{"name": "gif", "kind": "gcs", "bucket": "out-b", "mime_type": "image/gif"}]}
    with pytest.raises(Exception, match="mime_type"):
        run_program(PROGRAM, bad)


def test_job_inputs(graph):
    ct = _job(graph, "ct")
    assert ct.inputs["dicom_store"] == STORE_ID
    assert ct.inputs["gcs_source"] == {"uri": "gs://ct-archive/ct/**.dcm"}
    assert ct.inputs["blob_storage_settings"] == {"blob_storage_class": "ARCHIVE"}
    assert ct.inputs["triggers"] == ["t1"]
    assert _job(graph, "mr").inputs["triggers"] == ["t1", "mr-2"]
    assert _job(graph, "mr").inputs["gcs_source"] == {"uri": "gs://mr-landing/**.dcm"}
    assert _job(graph, "png").inputs["gcs_destination"] == {"uri_prefix": "gs://renders/png", "mime_type": "image/png"}
    assert _job(graph, "raw").inputs["gcs_destination"] == {"uri_prefix": "gs://existing-out"}
    meta = _job(graph, "meta")
    assert meta.inputs["bigquery_destination"] == {
        "table_uri": "bq://img-proj.dicom_meta.instances", "write_disposition": "WRITE_TRUNCATE",
        "include_source_store": True, "schema": "FLATTENED",
    }
    assert meta.inputs["filter_config"] == {"resource_paths_gcs_uri": "gs://ct-archive/filters/ct.txt"}
    assert _job(graph, "meta-x").inputs["bigquery_destination"] == {"table_uri": "bq://analytics.shared.dicom", "force": True}


def test_names_and_urns_are_stable(graph):
    ct = _job(graph, "ct")
    assert re.fullmatch(rf"urn:pulumi:test::dicom-environment::{PREFIX}:DicomGcsImport\$pulumi-python:dynamic[^:]*:[A-Za-z]+::ct", ct.urn), ct.urn
    assert graph.by_name("ct", f"{PREFIX}:DicomGcsImport").urn == f"urn:pulumi:test::dicom-environment::{PREFIX}:DicomGcsImport::ct"
    assert graph.by_name("meta", f"{PREFIX}:DicomBigQueryExport").urn.endswith("::meta")
    assert graph.by_name("renders-writer").urn == (
        "urn:pulumi:test::dicom-environment::gcp:storage/bucketIAMMember:BucketIAMMember::renders-writer"
    )
    again = run_program(PROGRAM, FULL_CONFIG)
    assert sorted(again.resources) == sorted(graph.resources), "same config, same URNs"


def test_stack_outputs(graph):
    assert sorted(graph.outputs["imports"]) == ["ct", "ct-extra", "mr"]
    assert sorted(graph.outputs["exports"]) == ["jpeg", "meta", "meta-x", "png", "raw"]
    ct = graph.outputs["imports"]["ct"]
    assert ct["success_count"] == 3 and ct["failure_count"] == 0
    assert ct["operation_name"].startswith("projects/img-proj/locations/europe-west4/datasets/imaging/operations/")
    assert ct["logs_url"].startswith("https://")
    assert ct["destination"] == "gs://ct-archive/ct/**.dcm"
    assert graph.outputs["exports"]["meta"]["destination"] == "bq://img-proj.dicom_meta.instances"
    assert graph.outputs["exports"]["png"]["destination"] == "gs://renders/png"


def test_example_stack_config_runs():
    config = yaml.safe_load((ROOT / "Pulumi.example.yaml").read_text())["config"]
    config = {key.removeprefix("dicom-environment:"): value for key, value in config.items()}
    graph = run_program(PROGRAM, config)
    assert_least_privilege(graph)
    assert len(graph.jobs) == len(config["imports"]) + len(config["exports"])
    # A first `up` of the template works: no import reads a bucket the same run
    # creates empty (an import whose pattern matches nothing fails).
    assert not [i["name"] for i in config["imports"] if i.get("create_bucket")]


def test_store_can_be_destroyable_and_nothing_else_needed():
    graph = run_program(PROGRAM, {"gcp:project": "p", "dataset": "d", "store": "s", "keep_store_on_destroy": False})
    assert not graph.by_name("dicom-store").retain_on_delete
    assert not graph.jobs and not [r for r in graph.resources.values() if is_grant(r)]
    assert graph.outputs["imports"] == {} and graph.outputs["exports"] == {}


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"exports": [{"name": "x", "kind": "s3", "bucket": "b-1"}]}, "kind must be"),
        ({"imports": [{"name": "x", "bucket": "b-1", "buckte": "typo"}]}, "unknown key 'buckte' \\(did you mean 'bucket'\\?\\)"),
        ({"imports": {"name": "x", "bucket": "b-1"}}, "must be a list of entries, each starting with '- '"),
        ({"imports": [{"name": "x"}]}, "missing"),
        ({"imports": [{"name": "x", "bucket": "b-1"}], "exports": [{"name": "x", "kind": "gcs", "bucket": "b-2"}]},
         "unique"),
    ],
)
def test_bad_config_fails_clearly(bad, message):
    with pytest.raises(pulumi.RunError, match=message):  # a RunError: reported without a traceback
        run_program(PROGRAM, {"gcp:project": "p", "dataset": "d", "store": "s", **bad})
