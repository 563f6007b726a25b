"""examples/store-migration end to end through pulumi-offline, IAM enforced."""

from __future__ import annotations

import pytest

from healthcare_emulator.sampledata import REAL_MULTI_FRAME, REAL_SINGLE_FRAME, real_bytes, synthetic_study, uids_of
from support.programs import (EXAMPLES, PROJECT, ROLE_OBJECT_ADMIN, ROLE_OBJECT_VIEWER, Program,
                              assert_permission_failure, bucket_grant, copy_program, counts_by_type,
                              job_urns, steps_of)

pytestmark = pytest.mark.slow

EXAMPLE = EXAMPLES / "store-migration"
BUCKET = f"{PROJECT}-dicom-migration"  # the example's default staging bucket
TARGET = f"projects/{PROJECT}/locations/us-central1/datasets/imaging-migrated/dicomStores/main"


def _seeded_store(cloud) -> tuple[str, set[str]]:
    objects = {name: real_bytes(name) for name in (*REAL_SINGLE_FRAME, REAL_MULTI_FRAME)}
    for index, data in enumerate(synthetic_study(series=2, per_series=2)):
        objects[f"generated-{index}.dcm"] = data
    store = cloud.create_store("imaging", "main")
    op = cloud.seed_store(store, objects)
    assert int(op["metadata"]["counter"]["success"]) == len(objects) == 7
    return store, {uids_of(data).sop for data in objects.values()}


def _program(tmp_path, cloud, store: str, run: str | None = None, patches=()) -> Program:
    program = Program(copy_program(EXAMPLE, tmp_path / "store-migration", patches), cloud.stack)
    _configure(program, store, run)
    return program


def _configure(program: Program, store: str, run: str | None) -> None:
    config = {"gcp:project": PROJECT, "source_store": store}
    if run is not None:
        config["run"] = run
    program.write_config(config)


def test_store_migration_up_noop_new_run_and_destroy(tmp_path, cloud):
    source, sops = _seeded_store(cloud)
    program = _program(tmp_path, cloud, source)

    first = program.up()
    assert first.ok, first.text
    assert counts_by_type(first) == {
        "gcp:healthcare/dataset:Dataset": 1, "gcp:healthcare/dicomStore:DicomStore": 1,
        "gcp:storage/bucket:Bucket": 1, "gcp:storage/bucketIAMMember:BucketIAMMember": 2,
        "job": 2, "DicomGcsExport": 1, "DicomGcsImport": 1,
        # each component enables the API and creates the agent (idempotent, so twice is fine)
        "gcp:projects/service:Service": 2, "gcp:projects/serviceIdentity:ServiceIdentity": 2}
    assert first.counts == {"create": 13}
    assert (first.outputs["exported"], first.outputs["imported"], first.outputs["import_failures"]) == (7, 7, 0)
    assert first.outputs["target_store"] == TARGET
    assert first.outputs["staging_prefix"] == f"gs://{BUCKET}/run-1"
    staged = cloud.objects(BUCKET)
    assert len(staged) == 7 and all(n.startswith("run-1/") and n.endswith(".dcm") for n in staged), staged
    assert cloud.sop_uids(TARGET) == sops == cloud.sop_uids(source)
    steps = [urn for _, urn in first.steps]
    jobs = job_urns(first)
    assert steps.index(jobs["export"]) < steps.index(jobs["import"])  # strictly after the export
    [imp] = cloud.job_operations("import")[1:]  # [0] is the seeding import
    assert imp["request"]["gcsSource"]["uri"] == f"gs://{BUCKET}/run-1/**.dcm" and imp["store"] == TARGET
    member = cloud.service_agent()["member"]
    assert cloud.grants() == {bucket_grant(BUCKET, ROLE_OBJECT_ADMIN, member),
                              bucket_grant(BUCKET, ROLE_OBJECT_VIEWER, member)}

    cloud.clear_requests()
    second = program.up()
    assert second.ok, second.text
    assert second.counts == {"same": 13}
    assert cloud.job_posts() == []

    # `run: 2`: both jobs carry triggers=[run]; exactly those two are replaced, and the new
    # export writes run-2/, the new import reads only that.
    _configure(program, source, "2")
    cloud.clear_requests()
    third = program.up()
    assert third.ok, third.text
    assert steps_of(third, "replace") == ["export", "import"]
    assert counts_by_type(third, "replace") == {"job": 2}
    assert third.counts == {"replace": 2, "same": 11}
    posts = cloud.job_posts()
    assert len(posts) == 2 and posts[0].endswith(":export") and posts[1].endswith(":import"), posts
    # the seven are in the target already: the import ignores them and, as the emulator counts
    # duplicates by default, counts none (docs/lifecycle.md#what-the-counters-say); no failure
    assert (third.outputs["exported"], third.outputs["imported"], third.outputs["import_failures"]) == (7, 0, 0)
    assert len(cloud.objects(BUCKET, "run-2/")) == 7 and cloud.objects(BUCKET, "run-1/") == staged
    assert cloud.job_operations("import")[-1]["request"]["gcsSource"]["uri"] == f"gs://{BUCKET}/run-2/**.dcm"
    assert cloud.sop_uids(TARGET) == sops

    # Destroy (README): target store with the migrated instances deleted, grants removed, the
    # staging bucket stays (not empty, force_destroy off); the source is untouched. As in the engine,
    # that failed delete stops the deletes (step_executor.go cancelDueToError): the target store's
    # dataset, due after it (deployment_executor.go performPostSteps), stays too, empty.
    done = program.destroy()
    assert not done.ok
    assert any(f"bucket {BUCKET} is not empty" in e for e in done.errors), done.errors
    assert program.state_names() == {"export", "export-bucket", "target-dataset"}
    assert cloud.hc_get(TARGET).status_code == 404
    assert cloud.grants() == set()
    assert len(cloud.objects(BUCKET)) == 14
    assert cloud.sop_uids(source) == sops


def test_store_migration_fails_without_export_object_admin(tmp_path, cloud):
    source, _ = _seeded_store(cloud)
    program = _program(tmp_path, cloud, source, patches=[(
        '    mime_type="application/dicom; transfer-syntax=*",  # original bytes, written as .dcm\n',
        '    mime_type="application/dicom; transfer-syntax=*",  # original bytes, written as .dcm\n'
        '    grants=[],  # TEST PATCH: no roles/storage.objectAdmin on the staging bucket\n')])
    result = program.up()
    text = assert_permission_failure(result, cloud.service_agent()["email"], ROLE_OBJECT_ADMIN)
    assert BUCKET in text
    assert cloud.objects(BUCKET) == []
    # The import never starts: it depends on the export.
    assert len(cloud.job_operations("import")) == 1  # the seeding import only
    assert "import" not in {r["urn"].rsplit("::", 1)[-1] for r in program.state()["resources"]
                            if "dynamic" in r["type"]}


def test_store_migration_import_grant_is_covered_by_the_export_grant(tmp_path, cloud):
    # Finding, not a failure: objectAdmin (the export's grant on the same bucket) includes read,
    # so the import's own objectViewer grant is redundant here. Dropping it changes nothing.
    source, sops = _seeded_store(cloud)
    program = _program(tmp_path, cloud, source, patches=[(
        '    pattern=f"{prefix}/**.dcm",\n',
        '    pattern=f"{prefix}/**.dcm",\n    grants=[],  # TEST PATCH: no objectViewer for the import\n')])
    result = program.up()
    assert result.ok, result.text
    member = cloud.service_agent()["member"]
    assert cloud.grants() == {bucket_grant(BUCKET, ROLE_OBJECT_ADMIN, member)}
    assert result.outputs["imported"] == 7 and cloud.sop_uids(TARGET) == sops
