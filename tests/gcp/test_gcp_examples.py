"""Every project under examples/ runs under mocks and builds the graph its README claims."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from support.graph import AGENT_MEMBER, assert_least_privilege, grants_of, healthcare_agents, is_grant, run_program

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PREFIX = "dicom-jobs:components"
STORE = "projects/img-proj/locations/us-east4/datasets/imaging/dicomStores/main"
VIEWER, ADMIN = "roles/storage.objectViewer", "roles/storage.objectAdmin"
STUDY = "1.2.840.113619.2.55.3.604688119.969.1268071029.320"


def _job(graph, name):
    [job] = [r for r in graph.jobs if r.name == name]
    return job


def _component_grants(graph, component):
    return [r for r in graph.children(component) if is_grant(r)]


def _assert_jobs_depend_on_component_grants(graph):
    assert sorted(name for name, _ in graph.checked) == sorted(job.name for job in graph.jobs), \
        "every job went through its provider's check"
    for job in graph.jobs:
        component = graph.resources[job.parent]
        grants = _component_grants(graph, component)
        assert grants, f"{component.name} made no grants"
        for grant in grants:
            assert graph.directly_depends_on(job, grant), (job.name, grant.name)


@pytest.mark.parametrize("example", ["gcs-import", "gcs-export-jpeg", "bigquery-export", "store-migration"])
def test_example_is_a_complete_project(example):
    folder = EXAMPLES / example
    project = yaml.safe_load((folder / "Pulumi.yaml").read_text())
    assert project["name"].startswith("dicom-")
    assert project["runtime"]["name"] == "python"
    requirements = (folder / "requirements.txt").read_text()
    assert re.search(r"^\.\./\.\.$", requirements, re.M)  # the product, from this repository
    assert re.search(r"^pulumi-gcp\b", requirements, re.M)
    readme = (folder / "README.md").read_text()
    assert "pulumi config set gcp:project" in readme and "pulumi up" in readme
    assert "pulumi destroy" in readme
    assert (folder / "__main__.py").exists()


def test_gcs_import():
    graph = run_program(EXAMPLES / "gcs-import" / "__main__.py", {"gcp:project": "img-proj", "bucket": "my-scans"})
    assert_least_privilege(graph)
    assert grants_of(graph) == [("bucket", VIEWER, AGENT_MEMBER, "my-scans")]
    assert graph.by_name("scans-source-reader").urn == (
        f"urn:pulumi:test::dicom-gcs-import::{PREFIX}:DicomGcsImport$"
        "gcp:storage/bucketIAMMember:BucketIAMMember::scans-source-reader"
    )
    job = _job(graph, "scans")
    assert job.inputs["gcs_source"] == {"uri": "gs://my-scans/**.dcm"}
    assert job.inputs["max_failed_instances"] == 0
    store = graph.by_name("store", "gcp:healthcare/dicomStore:DicomStore")
    assert graph.directly_depends_on(job, store)
    assert job.inputs["dicom_store"] == "projects/img-proj/locations/us-central1/datasets/dicom-gcs-import/dicomStores/imported"
    _assert_jobs_depend_on_component_grants(graph)
    assert graph.outputs["imported"] == 3 and graph.outputs["source_uri"] == "gs://my-scans/**.dcm"


def test_gcs_import_pattern_and_location():
    graph = run_program(
        EXAMPLES / "gcs-import" / "__main__.py",
        {"gcp:project": "img-proj", "bucket": "my-scans", "pattern": "ct/**.dcm", "location": "europe-west2"},
    )
    assert _job(graph, "scans").inputs["gcs_source"] == {"uri": "gs://my-scans/ct/**.dcm"}
    assert graph.by_name("dataset").inputs["location"] == "europe-west2"


def test_gcs_export_jpeg():
    graph = run_program(EXAMPLES / "gcs-export-jpeg" / "__main__.py", {"gcp:project": "img-proj", "dicom_store": STORE})
    assert_least_privilege(graph)
    assert grants_of(graph) == [("bucket", ADMIN, AGENT_MEMBER, "img-proj-dicom-jpeg")]
    bucket = graph.by_name("jpeg-bucket")
    assert bucket.inputs["name"] == "img-proj-dicom-jpeg" and bucket.inputs["location"] == "us-east4"
    job = _job(graph, "jpeg")
    assert job.inputs["gcs_destination"] == {"uri_prefix": "gs://img-proj-dicom-jpeg/jpeg", "mime_type": "image/jpeg"}
    assert job.inputs["dicom_store"] == STORE
    assert graph.depends_on(job, bucket)
    _assert_jobs_depend_on_component_grants(graph)
    assert healthcare_agents(graph) == ["img-proj"]

    named = run_program(EXAMPLES / "gcs-export-jpeg" / "__main__.py",
                        {"gcp:project": "img-proj", "dicom_store": STORE, "bucket": "own-bucket"})
    assert grants_of(named) == [("bucket", ADMIN, AGENT_MEMBER, "own-bucket")]


def test_bigquery_export_with_filter_file():
    graph = run_program(
        EXAMPLES / "bigquery-export" / "__main__.py",
        {"gcp:project": "img-proj", "dicom_store": STORE, "studies": [STUDY, "1.2.3"]},
    )
    assert_least_privilege(graph)
    assert grants_of(graph) == sorted([
        ("dataset", "roles/bigquery.dataEditor", AGENT_MEMBER, "img-proj.dicom_metadata"),
        ("project", "roles/bigquery.jobUser", AGENT_MEMBER, "img-proj"),
        ("bucket", VIEWER, AGENT_MEMBER, "img-proj-dicom-filters"),
    ])
    obj = graph.by_name("studies-filter", "gcp:storage/bucketObject:BucketObject")
    assert obj.inputs["content"] == f"/studies/{STUDY}\n/studies/1.2.3\n"
    assert obj.inputs["bucket"] == "img-proj-dicom-filters"
    job = _job(graph, "metadata")
    assert job.inputs["filter_config"] == {"resource_paths_gcs_uri": "gs://img-proj-dicom-filters/filters/studies.txt"}
    assert job.inputs["bigquery_destination"] == {
        "table_uri": "bq://img-proj.dicom_metadata.instances", "write_disposition": "WRITE_TRUNCATE",
    }
    assert graph.directly_depends_on(job, obj), "the job runs after the filter file is written"
    assert graph.depends_on(graph.by_name("metadata-filter-reader"), obj)
    assert graph.by_name("metadata-dataset").inputs["location"] == "us-east4"
    _assert_jobs_depend_on_component_grants(graph)
    assert sorted(r.name for r in _component_grants(graph, graph.resources[job.parent])) == [
        "metadata-bq-data-editor", "metadata-bq-job-user", "metadata-filter-reader",
    ]

    # a different study list changes the trigger, so the export re-runs
    other = run_program(EXAMPLES / "bigquery-export" / "__main__.py",
                        {"gcp:project": "img-proj", "dicom_store": STORE, "studies": [STUDY]})
    assert _job(other, "metadata").inputs["triggers"] != job.inputs["triggers"]


def test_bigquery_export_needs_studies():
    with pytest.raises(Exception, match="studies"):
        run_program(EXAMPLES / "bigquery-export" / "__main__.py", {"gcp:project": "p", "dicom_store": STORE, "studies": []})


def test_store_migration():
    source = "projects/img-proj/locations/us-east4/datasets/legacy/dicomStores/pacs"
    graph = run_program(EXAMPLES / "store-migration" / "__main__.py", {"gcp:project": "img-proj", "source_store": source})
    assert_least_privilege(graph)
    assert grants_of(graph) == sorted([
        ("bucket", ADMIN, AGENT_MEMBER, "img-proj-dicom-migration"),
        ("bucket", VIEWER, AGENT_MEMBER, "img-proj-dicom-migration"),
    ])
    export, imp = _job(graph, "export"), _job(graph, "import")
    assert export.inputs["dicom_store"] == source
    assert export.inputs["gcs_destination"] == {
        "uri_prefix": "gs://img-proj-dicom-migration/run-1",
        "mime_type": "application/dicom; transfer-syntax=*",
    }
    assert imp.inputs["gcs_source"] == {"uri": "gs://img-proj-dicom-migration/run-1/**.dcm"}
    assert imp.inputs["dicom_store"] == "projects/img-proj/locations/us-east4/datasets/legacy-migrated/dicomStores/pacs"
    assert graph.directly_depends_on(imp, export), "import strictly after export"
    assert not graph.depends_on(export, imp)
    assert export.inputs["triggers"] == imp.inputs["triggers"] == ["1"]
    assert graph.directly_depends_on(imp, graph.by_name("target-store"))
    _assert_jobs_depend_on_component_grants(graph)

    rerun = run_program(EXAMPLES / "store-migration" / "__main__.py",
                        {"gcp:project": "img-proj", "source_store": source, "run": "2"})
    assert _job(rerun, "export").inputs["triggers"] == _job(rerun, "import").inputs["triggers"] == ["2"]
    assert _job(rerun, "import").inputs["gcs_source"] == {"uri": "gs://img-proj-dicom-migration/run-2/**.dcm"}
    assert sorted(rerun.resources) == sorted(graph.resources), "a re-run replaces jobs, it does not add resources"
