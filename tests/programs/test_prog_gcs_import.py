"""examples/gcs-import end to end through pulumi-offline, IAM enforced."""

from __future__ import annotations

import pytest

from healthcare_emulator.sampledata import REAL_MULTI_FRAME, REAL_SINGLE_FRAME, broken_file, real_bytes, synthetic_study, uids_of
from support.programs import (EXAMPLES, PROJECT, ROLE_OBJECT_VIEWER, Program, assert_permission_failure,
                              bucket_grant, copy_program, counts_by_type, job_urns, steps_of)

pytestmark = pytest.mark.slow

EXAMPLE = EXAMPLES / "gcs-import"
BUCKET = "hospital-dicom-files"
STORE = f"projects/{PROJECT}/locations/us-central1/datasets/dicom-gcs-import/dicomStores/imported"


def _data() -> dict[str, bytes]:
    """Real pydicom files and a generated study under scans/; a broken .dcm outside the pattern."""
    objects = {f"scans/real/{name}": real_bytes(name) for name in (*REAL_SINGLE_FRAME, REAL_MULTI_FRAME)}
    for index, data in enumerate(synthetic_study(series=2, per_series=2)):
        objects[f"scans/generated/{index}.dcm"] = data
    return objects


def _program(tmp_path, cloud, patches=()) -> Program:
    program = Program(copy_program(EXAMPLE, tmp_path / "gcs-import", patches), cloud.stack)
    program.write_config({"gcp:project": PROJECT, "bucket": BUCKET, "pattern": "scans/**.dcm"})
    return program


def test_gcs_import_up_noop_pattern_change_and_destroy(tmp_path, cloud):
    scans = _data()
    cloud.create_bucket(BUCKET)
    # Not under scans/: were the pattern ignored, max_failed_instances=0 would fail the run.
    cloud.upload(BUCKET, {**scans, "quarantine/not-dicom.dcm": broken_file()})
    uploaded = {uids_of(data).sop for data in scans.values()}
    program = _program(tmp_path, cloud)

    first = program.up()
    assert first.ok, first.text
    assert counts_by_type(first) == {"gcp:healthcare/dataset:Dataset": 1, "gcp:healthcare/dicomStore:DicomStore": 1,
                                     "gcp:storage/bucketIAMMember:BucketIAMMember": 1, "job": 1,
                                     "DicomGcsImport": 1,  # the component enables the API, creates the agent:
                                     "gcp:projects/service:Service": 1, "gcp:projects/serviceIdentity:ServiceIdentity": 1,}
    assert first.counts == {"create": 7}
    # Real counts: 7 files under scans/, all imported; read back through QIDO-RS.
    assert first.outputs["imported"] == len(scans) == 7
    assert first.outputs["failed"] == 0
    assert first.outputs["dicom_store"] == STORE
    assert first.outputs["source_uri"] == f"gs://{BUCKET}/scans/**.dcm"
    assert cloud.sop_uids(STORE) == uploaded
    agent = cloud.service_agent()
    # Exactly the objectViewer grant on the bucket (README: "nothing else").
    assert cloud.grants() == {bucket_grant(BUCKET, ROLE_OBJECT_VIEWER, agent["member"])}
    operations = cloud.job_operations()
    assert [op["request"]["gcsSource"]["uri"] for op in operations] == [f"gs://{BUCKET}/scans/**.dcm"]

    # Second up: nothing created, no job started.
    cloud.clear_requests()
    second = program.up()
    assert second.ok, second.text
    assert second.counts == {"same": 7}
    assert cloud.job_posts() == []
    assert len(cloud.job_operations()) == 1

    # The example has no `triggers` config: changing `pattern` is its way to re-run the import,
    # and it replaces exactly the job (new source URI), nothing else.
    later = synthetic_study(series=1, per_series=2)
    cloud.upload(BUCKET, {f"later/{i}.dcm": data for i, data in enumerate(later)})
    program.write_config({"gcp:project": PROJECT, "bucket": BUCKET, "pattern": "later/**.dcm"})
    cloud.clear_requests()
    third = program.up()
    assert third.ok, third.text
    assert steps_of(third, "replace") == ["scans"]
    assert [urn for kind, urn in third.steps if kind == "replace"] == [job_urns(first)["scans"]]
    assert third.counts == {"replace": 1, "same": 6}
    assert len(cloud.job_posts()) == 1 and cloud.job_posts()[0].endswith(":import")
    assert third.outputs["imported"] == 2
    assert third.outputs["source_uri"] == f"gs://{BUCKET}/later/**.dcm"
    assert len(cloud.job_operations()) == 2
    assert cloud.sop_uids(STORE) == uploaded | {uids_of(d).sop for d in later}

    # Destroy (README): removes the store (and so its instances), the dataset and the grant;
    # the user's bucket and files are untouched.
    done = program.destroy()
    assert done.ok, done.text
    assert program.state()["resources"] == []
    assert done.counts == {"delete": 7}
    assert cloud.hc_get(STORE).status_code == 404
    assert cloud.grants() == set()
    assert cloud.objects(BUCKET) == sorted([*scans, "quarantine/not-dicom.dcm", "later/0.dcm", "later/1.dcm"])


def test_gcs_import_fails_without_object_viewer(tmp_path, cloud):
    cloud.create_bucket(BUCKET)
    cloud.upload(BUCKET, _data())
    # The component's own `grants=` argument replaces its default grant list: an empty list
    # means the example runs exactly as shipped, minus the objectViewer grant.
    program = _program(tmp_path, cloud, patches=[(
        "    max_failed_instances=0,  # any unreadable file fails `pulumi up`\n",
        "    max_failed_instances=0,  # any unreadable file fails `pulumi up`\n"
        "    grants=[],  # TEST PATCH: no roles/storage.objectViewer on the bucket\n")])
    result = program.up()
    agent = cloud.service_agent()
    text = assert_permission_failure(result, agent["email"], ROLE_OBJECT_VIEWER)
    assert BUCKET in text
    assert cloud.grants() == set()
    operations = cloud.job_operations()
    assert operations and all(cloud.operation(op["name"])["error"]["code"] == 7 for op in operations)
    assert cloud.sop_uids(STORE) == set()
    # The failed job is not in the state; everything before it is.
    assert "scans" in program.state_names()  # the component
    assert not [r for r in program.state()["resources"] if r["urn"].endswith("dynamic/dicom-jobs:DicomImportJob::scans")]
