"""examples/gcs-export-jpeg end to end through pulumi-offline, IAM enforced."""

from __future__ import annotations

import pytest

from healthcare_emulator.sampledata import REAL_MULTI_FRAME, REAL_NO_PIXELS, REAL_SINGLE_FRAME, real_bytes, synthetic_study, uids_of
from support.programs import (EXAMPLES, PROJECT, ROLE_OBJECT_ADMIN, Program, assert_permission_failure,
                              bucket_grant, copy_program, counts_by_type, steps_of)

pytestmark = pytest.mark.slow

EXAMPLE = EXAMPLES / "gcs-export-jpeg"
BUCKET = f"{PROJECT}-dicom-jpeg"  # the example's default: <project>-dicom-jpeg
FRAMES = {"CT_small.dcm": 1, "MR_small.dcm": 1, REAL_MULTI_FRAME: 15}


def _seeded_store(cloud, extra: dict[str, bytes] | None = None) -> tuple[str, dict[str, bytes]]:
    """An existing store (as the example expects) holding real files and a generated study."""
    objects = {name: real_bytes(name) for name in (*REAL_SINGLE_FRAME, REAL_MULTI_FRAME)}
    for index, data in enumerate(synthetic_study(series=2, per_series=2)):
        objects[f"generated-{index}.dcm"] = data
    objects.update(extra or {})
    store = cloud.create_store("imaging", "main")
    op = cloud.seed_store(store, objects)
    assert int(op["metadata"]["counter"]["success"]) == len(objects)
    return store, objects


def _program(tmp_path, cloud, store: str, patches=()) -> Program:
    program = Program(copy_program(EXAMPLE, tmp_path / "gcs-export-jpeg", patches), cloud.stack)
    program.write_config({"gcp:project": PROJECT, "dicom_store": store})
    return program


def test_gcs_export_jpeg_up_noop_and_destroy(tmp_path, cloud):
    store, objects = _seeded_store(cloud)
    expected_objects = sum(FRAMES.get(name, 1) for name in objects)  # one JPEG per frame: 1+1+15+4
    program = _program(tmp_path, cloud, store)

    first = program.up()
    assert first.ok, first.text
    assert counts_by_type(first) == {"gcp:storage/bucket:Bucket": 1, "gcp:storage/bucketIAMMember:BucketIAMMember": 1,
                                     "job": 1, "DicomGcsExport": 1, "gcp:projects/service:Service": 1, "gcp:projects/serviceIdentity:ServiceIdentity": 1,}
    assert first.counts == {"create": 6}
    assert first.outputs["exported"] == len(objects) == 7  # counters count instances, not frames
    assert first.outputs["failed"] == 0
    assert first.outputs["uri_prefix"] == f"gs://{BUCKET}/jpeg"
    written = cloud.objects(BUCKET)
    assert len(written) == expected_objects == 21
    assert all(name.startswith("jpeg/") and name.endswith(".jpg") for name in written), written
    # Layout jpeg/{study}/{series}/{instance}[/{frame}].jpg, one path per seeded instance.
    assert {name.split("/")[3].removesuffix(".jpg") for name in written} == {uids_of(d).sop for d in objects.values()}
    assert cloud.read_object(BUCKET, written[0])[:2] == b"\xff\xd8"  # a JPEG
    agent = cloud.service_agent()
    assert cloud.grants() == {bucket_grant(BUCKET, ROLE_OBJECT_ADMIN, agent["member"])}  # "nothing else"

    cloud.clear_requests()
    second = program.up()
    assert second.ok, second.text
    assert second.counts == {"same": 6}
    assert cloud.job_posts() == []
    assert len(cloud.job_operations("export")) == 1
    assert cloud.objects(BUCKET) == written

    # Destroy (README): the grant goes; the bucket holds JPEGs and force_destroy is off, so its
    # delete fails and bucket, files (and its parent component) stay in the state and in place.
    done = program.destroy()
    assert not done.ok
    assert any(f"bucket {BUCKET} is not empty" in e for e in done.errors), done.errors
    # the job, the grant, and the agent's ServiceIdentity and API Service (which neither
    # delete the agent nor disable the API)
    assert sorted(steps_of(done, "delete")) == ["jpeg", "jpeg-export-writer", "jpeg-healthcare-agent",
                                                "jpeg-healthcare-api"]
    assert program.state_names() == {"jpeg", "jpeg-bucket"}
    assert cloud.grants() == set()
    assert cloud.objects(BUCKET) == written
    assert len(cloud.sop_uids(store)) == len(objects)  # the source store is never touched


def test_gcs_export_jpeg_unrenderable_instance_fails_the_run(tmp_path, cloud):
    # An RT Plan has no pixels: it cannot be rendered, counts as a failure, and the example's
    # max_failed_instances=0 fails `up` (README: raise it to tolerate some).
    store, objects = _seeded_store(cloud, {REAL_NO_PIXELS: real_bytes(REAL_NO_PIXELS)})
    program = _program(tmp_path, cloud, store)
    result = program.up()
    assert not result.ok, result.text
    text = "\n".join(result.errors)
    assert "failure=1" in text and f"success={len(objects) - 1}" in text, text
    assert uids_of(objects[REAL_NO_PIXELS]).sop in text, text


def test_gcs_export_jpeg_fails_without_object_admin(tmp_path, cloud):
    store, _ = _seeded_store(cloud)
    program = _program(tmp_path, cloud, store, patches=[(
        "    max_failed_instances=0,\n)",
        "    max_failed_instances=0,\n"
        "    grants=[],  # TEST PATCH: no roles/storage.objectAdmin on the bucket\n)")])
    result = program.up()
    text = assert_permission_failure(result, cloud.service_agent()["email"], ROLE_OBJECT_ADMIN)
    assert BUCKET in text
    assert cloud.grants() == set()
    assert cloud.bucket_exists(BUCKET) and cloud.objects(BUCKET) == []
    operations = cloud.job_operations("export")
    assert operations and all(cloud.operation(op["name"])["error"]["code"] == 7 for op in operations)
