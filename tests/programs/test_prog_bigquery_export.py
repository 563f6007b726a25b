"""examples/bigquery-export end to end through pulumi-offline, IAM enforced."""

from __future__ import annotations

import pytest

from healthcare_emulator.sampledata import REAL_MULTI_FRAME, REAL_SINGLE_FRAME, real_bytes, synthetic_study, uids_of
from support.programs import (EXAMPLES, PROJECT, ROLE_BQ_DATA_EDITOR, ROLE_BQ_JOB_USER, ROLE_OBJECT_VIEWER,
                              Program, assert_only_host_frames, assert_permission_failure, bucket_grant, copy_program,
                              counts_by_type,
                              dataset_grant, job_urns, project_grant, steps_of)

pytestmark = pytest.mark.slow

EXAMPLE = EXAMPLES / "bigquery-export"
FILTER_BUCKET = f"{PROJECT}-dicom-filters"
DATASET, TABLE = "dicom_metadata", "instances"


def _seeded_store(cloud) -> tuple[str, dict[str, list[str]]]:
    """An existing store: real files plus two generated studies. Returns study UID -> SOP UIDs."""
    objects = {name: real_bytes(name) for name in (*REAL_SINGLE_FRAME, REAL_MULTI_FRAME)}
    for index, data in enumerate(synthetic_study(series=2, per_series=2) + synthetic_study(series=1, per_series=3)):
        objects[f"generated-{index}.dcm"] = data
    store = cloud.create_store("imaging", "main")
    op = cloud.seed_store(store, objects)
    assert int(op["metadata"]["counter"]["success"]) == len(objects) == 10
    studies: dict[str, list[str]] = {}
    for data in objects.values():
        uids = uids_of(data)
        studies.setdefault(uids.study, []).append(uids.sop)
    return store, studies


def _generated(studies: dict[str, list[str]]) -> tuple[str, str]:
    """The two generated studies (4 and 3 instances)."""
    by_size = {len(sops): uid for uid, sops in studies.items() if len(sops) > 1}
    return by_size[4], by_size[3]


def _program(tmp_path, cloud, store: str, studies: list[str], patches=()) -> Program:
    program = Program(copy_program(EXAMPLE, tmp_path / "bigquery-export", patches), cloud.stack)
    program.write_config({"gcp:project": PROJECT, "dicom_store": store, "studies": studies})
    return program


def test_bigquery_export_up_noop_studies_change_and_destroy(tmp_path, cloud):
    store, studies = _seeded_store(cloud)
    first_study, second_study = _generated(studies)
    program = _program(tmp_path, cloud, store, [first_study])

    first = program.up()
    assert first.ok, first.text
    assert counts_by_type(first) == {
        "gcp:storage/bucket:Bucket": 1, "gcp:storage/bucketObject:BucketObject": 1,
        "gcp:bigquery/dataset:Dataset": 1, "gcp:bigquery/datasetIamMember:DatasetIamMember": 1,
        "gcp:projects/iAMMember:IAMMember": 1, "gcp:storage/bucketIAMMember:BucketIAMMember": 1,
        "job": 1, "DicomBigQueryExport": 1, "gcp:projects/service:Service": 1, "gcp:projects/serviceIdentity:ServiceIdentity": 1,}
    assert first.counts == {"create": 10}
    # Only the listed study is exported: its 4 instances, as 4 rows.
    assert first.outputs["exported"] == 4 and first.outputs["failed"] == 0
    assert first.outputs["table_uri"] == f"bq://{PROJECT}.{DATASET}.{TABLE}"
    assert first.outputs["filter_uri"] == f"gs://{FILTER_BUCKET}/filters/studies.txt"
    assert cloud.read_object(FILTER_BUCKET, "filters/studies.txt") == f"/studies/{first_study}\n".encode()
    assert cloud.bq_sop_uids(DATASET, TABLE) == sorted(studies[first_study])
    member = cloud.service_agent()["member"]
    assert cloud.grants() == {dataset_grant(DATASET, ROLE_BQ_DATA_EDITOR, member),
                              project_grant(ROLE_BQ_JOB_USER, member),
                              bucket_grant(FILTER_BUCKET, ROLE_OBJECT_VIEWER, member)}
    [operation] = cloud.job_operations("export")
    assert operation["request"]["filterConfig"]["resourcePathsGcsUri"] == first.outputs["filter_uri"]

    cloud.clear_requests()
    second = program.up()
    assert second.ok, second.text
    assert second.counts == {"same": 10}
    assert cloud.job_posts() == []
    assert len(cloud.job_operations("export")) == 1

    # Another study list: the filter file is rewritten and, through the content hash in the
    # job's triggers, exactly the export job is replaced; WRITE_TRUNCATE replaces the rows.
    program.write_config({"gcp:project": PROJECT, "dicom_store": store, "studies": [first_study, second_study]})
    cloud.clear_requests()
    third = program.up()
    assert third.ok, third.text
    assert steps_of(third, "replace") == ["metadata", "studies-filter"]
    assert counts_by_type(third, "replace") == {"job": 1, "gcp:storage/bucketObject:BucketObject": 1}
    assert job_urns(third)["metadata"] == job_urns(first)["metadata"]
    assert third.counts == {"replace": 2, "same": 8}
    assert len(cloud.job_posts()) == 1 and cloud.job_posts()[0].endswith(":export")
    assert third.outputs["exported"] == 7
    assert cloud.bq_sop_uids(DATASET, TABLE) == sorted(studies[first_study] + studies[second_study])
    assert len(cloud.job_operations("export")) == 2

    # Destroy (README): grants and filter file go; the dataset holds the table and
    # delete_contents_on_destroy is off, so it (and its parent component) stays, with the rows.
    # As in the engine, that failed delete stops the deletes (step_executor.go cancelDueToError):
    # the filter file's bucket, due after it (deployment_executor.go performPostSteps), stays too.
    done = program.destroy()
    assert not done.ok
    assert any(f"{PROJECT}.{DATASET} still holds 1 table and" in e for e in done.errors), done.errors
    assert program.state_names() == {"metadata", "metadata-dataset", "filters"}
    assert cloud.grants() == set()
    assert cloud.bucket_exists(FILTER_BUCKET) and cloud.objects(FILTER_BUCKET) == []  # the file went
    assert cloud.bq_tables(DATASET) == [TABLE]
    assert len(cloud.bq_sop_uids(DATASET, TABLE)) == 7
    assert len(cloud.sop_uids(store)) == 10  # the source store is never touched


def _without(role: str) -> list[tuple[str, str]]:
    """Patch: give the component an explicit ``grants=`` list, the default one minus ``role``.

    The grants are built exactly as the component would (same helpers, same roles, same
    member), except that the one for ``role`` is left out.
    """
    prelude = f'''
# TEST PATCH: the component's own grants, minus {role}.
from pulumi_dicom_jobs.gcp import grants as _g
_agent = _g.healthcare_service_agent(project)
_test_grants = []
if {role!r} != _g.ROLE_BQ_DATA_EDITOR:
    _test_grants.append(gcp.bigquery.DatasetIamMember("metadata-bq-data-editor", project=project,
                        dataset_id="dicom_metadata", role=_g.ROLE_BQ_DATA_EDITOR, member=_agent))
if {role!r} != _g.ROLE_BQ_JOB_USER:
    _test_grants.append(gcp.projects.IAMMember("metadata-bq-job-user", project=project,
                        role=_g.ROLE_BQ_JOB_USER, member=_agent))
if {role!r} != _g.ROLE_OBJECT_VIEWER:
    _test_grants += _g.filter_file_grants("metadata", filter_uri=filter_uri, member=_agent)
assert len(_test_grants) == 2
'''
    return [
        ("metadata = DicomBigQueryExport(\n", prelude + "metadata = DicomBigQueryExport(\n"),
        ("    triggers=[hashlib.sha256(content.encode()).hexdigest()[:16]],\n)",
         "    triggers=[hashlib.sha256(content.encode()).hexdigest()[:16]],\n    grants=_test_grants,\n)"),
    ]


@pytest.mark.parametrize("role", [ROLE_BQ_DATA_EDITOR, ROLE_BQ_JOB_USER, ROLE_OBJECT_VIEWER])
def test_bigquery_export_fails_without_each_grant(tmp_path, cloud, role):
    store, studies = _seeded_store(cloud)
    first_study, _ = _generated(studies)
    program = _program(tmp_path, cloud, store, [first_study], patches=_without(role))
    result = program.up()
    text = assert_permission_failure(result, cloud.service_agent()["email"], role)
    assert len(cloud.grants()) == 2 and role not in {g[1] for g in cloud.grants()}
    operations = cloud.job_operations("export")
    assert operations and all(cloud.operation(op["name"])["error"]["code"] == 7 for op in operations)
    assert TABLE not in cloud.bq_tables(DATASET)  # nothing written
    # the hint names the role and where to grant it; the project id alone would prove
    # nothing (every failure names it through the operation's name)
    where = {ROLE_OBJECT_VIEWER: f"bucket {FILTER_BUCKET}", ROLE_BQ_DATA_EDITOR: f"dataset {PROJECT}:{DATASET}",
             ROLE_BQ_JOB_USER: f"project {PROJECT}"}[role]
    assert f"{role} on {where}" in text, text


def test_a_rerun_without_write_disposition_fails_on_its_own_table(tmp_path, cloud):
    """README: unset write_disposition means "new table only", so a triggers re-run fails on its own table."""
    store, studies = _seeded_store(cloud)
    first_study, second_study = _generated(studies)
    patch = ('    write_disposition="WRITE_TRUNCATE",  # each run replaces the table\n', "")
    program = _program(tmp_path, cloud, store, [first_study], [patch])
    first = program.up()
    assert first.ok, first.text
    assert cloud.bq_sop_uids(DATASET, TABLE) == sorted(studies[first_study])
    [operation] = cloud.job_operations("export")
    assert operation["request"]["bigqueryDestination"] == {"tableUri": f"bq://{PROJECT}.{DATASET}.{TABLE}"}

    program.write_config({"gcp:project": PROJECT, "dicom_store": store, "studies": [first_study, second_study]})
    again = program.up()
    assert not again.ok, again.text
    text = "\n".join(again.errors)
    assert "ALREADY_EXISTS" in text and f"{PROJECT}.{DATASET}.{TABLE} already exists" in text, text
    assert_only_host_frames(text)
    assert cloud.bq_sop_uids(DATASET, TABLE) == sorted(studies[first_study])  # the first run's rows, untouched
