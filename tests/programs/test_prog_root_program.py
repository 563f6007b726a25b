"""The root program (__main__.py + stack config) end to end through pulumi-offline, IAM enforced.

tests/test_demo.py already runs it once with program-created buckets and a second no-op `up`.
Here the destinations exist beforehand (``create_bucket: false``, ``create_dataset: false``), so
``destroy`` can remove every resource from the state; plus per-entry ``triggers`` and the
removal of each kind of grant.
"""

from __future__ import annotations

import pytest

from healthcare_emulator.sampledata import REAL_MULTI_FRAME, REAL_SINGLE_FRAME, broken_file, real_bytes, synthetic_study, uids_of
from support.programs import (PROJECT, ROLE_BQ_DATA_EDITOR, ROLE_BQ_JOB_USER, ROLE_OBJECT_ADMIN,
                              ROLE_OBJECT_VIEWER, Program, assert_permission_failure, bucket_grant,
                              copy_root_program, counts_by_type, dataset_grant, job_urns, project_grant,
                              steps_of)

pytestmark = pytest.mark.slow

SOURCE, DICOM_BUCKET, PNG_BUCKET, SUBSET_BUCKET = "hospital-archive", "dicom-exports", "png-renders", "study-subset"
BQ_DATASET, BQ_TABLE = "dicom_metadata", "instances"
STORE = f"projects/{PROJECT}/locations/us-central1/datasets/imaging/dicomStores/main"
FILTER = f"gs://{SOURCE}/filters/generated-study.txt"

IMPORT = {"name": "archive", "bucket": SOURCE, "create_bucket": False, "pattern": "incoming/**.dcm",
          "max_failed_instances": 1}
DICOM_EXPORT = {"name": "dicom-copy", "kind": "gcs", "bucket": DICOM_BUCKET, "create_bucket": False,
                "prefix": "dicom", "mime_type": "application/dicom"}
PNG_EXPORT = {"name": "png-renders", "kind": "gcs", "bucket": PNG_BUCKET, "create_bucket": False,
              "prefix": "png", "mime_type": "image/png"}
BQ_EXPORT = {"name": "metadata", "kind": "bigquery", "dataset": BQ_DATASET, "table": BQ_TABLE,
             "create_dataset": False, "write_disposition": "WRITE_TRUNCATE", "include_source_store": True}
FILTERED_EXPORT = {"name": "generated-only", "kind": "gcs", "bucket": SUBSET_BUCKET, "create_bucket": False,
                   "prefix": "subset", "filter_file": FILTER}


def _config(imports: list[dict], exports: list[dict]) -> dict:
    return {"gcp:project": PROJECT, "dicom-environment:location": "us-central1", "dicom-environment:dataset": "imaging",
            "dicom-environment:store": "main", "dicom-environment:imports": imports, "dicom-environment:exports": exports}


def _data_lake(cloud) -> tuple[set[str], set[str]]:
    """The source bucket and the existing destinations. Returns (all SOP UIDs, generated study's)."""
    objects = {f"incoming/pydicom/{name}": real_bytes(name) for name in (*REAL_SINGLE_FRAME, REAL_MULTI_FRAME)}
    generated = synthetic_study(series=2, per_series=3)
    for index, data in enumerate(generated):
        objects[f"incoming/generated/{index}.dcm"] = data
    cloud.create_bucket(SOURCE)
    cloud.upload(SOURCE, {**objects, "incoming/broken/not-really-dicom.dcm": broken_file(),
                          "filters/generated-study.txt": f"/studies/{uids_of(generated[0]).study}\n".encode()})
    for bucket in (DICOM_BUCKET, PNG_BUCKET, SUBSET_BUCKET):
        cloud.create_bucket(bucket)
    cloud.bq_create_dataset(BQ_DATASET)
    return {uids_of(d).sop for d in objects.values()}, {uids_of(d).sop for d in generated}


def test_root_program_full_config_up_noop_triggers_and_destroy(tmp_path, cloud):
    sops, generated = _data_lake(cloud)
    program = Program(copy_root_program(tmp_path / "root"), cloud.stack)
    config = _config([IMPORT], [DICOM_EXPORT, PNG_EXPORT, BQ_EXPORT, FILTERED_EXPORT])
    program.write_config(config)

    first = program.up()
    assert first.ok, first.text
    assert counts_by_type(first) == {
        "gcp:healthcare/dataset:Dataset": 1, "gcp:healthcare/dicomStore:DicomStore": 1,
        # one objectViewer on the source (shared by the import and the filter file), three
        # objectAdmin, dataEditor on the dataset, jobUser on the project
        "gcp:storage/bucketIAMMember:BucketIAMMember": 4, "gcp:bigquery/datasetIamMember:DatasetIamMember": 1,
        "gcp:projects/iAMMember:IAMMember": 1,
        # the API enabled and the agent created before any grant (a fresh project has neither)
        "gcp:projects/service:Service": 1, "gcp:projects/serviceIdentity:ServiceIdentity": 1,
        "DicomGcsImport": 1, "DicomGcsExport": 3, "DicomBigQueryExport": 1, "job": 5}
    assert first.counts == {"create": 20}
    jobs = {**first.outputs["imports"], **first.outputs["exports"]}
    counts = {name: (job["success_count"], job["failure_count"]) for name, job in jobs.items()}
    # 9 instances (3 pydicom files + a generated study of 6) and the one tolerated broken file.
    assert counts == {"archive": (9, 1), "dicom-copy": (9, 0), "png-renders": (9, 0), "metadata": (9, 0),
                      "generated-only": (6, 0)}
    assert cloud.sop_uids(STORE) == sops and len(sops) == 9
    dicom, png, subset = (cloud.objects(b) for b in (DICOM_BUCKET, PNG_BUCKET, SUBSET_BUCKET))
    assert len(dicom) == 9 and all(n.startswith("dicom/") and n.endswith(".dcm") for n in dicom)
    assert len(png) == 2 + 6 + 15 and all(n.startswith("png/") and n.endswith(".png") for n in png)
    assert {n.split("/")[3].removesuffix(".dcm") for n in subset} == generated
    assert cloud.bq_sop_uids(BQ_DATASET, BQ_TABLE) == sorted(sops)
    member = first.outputs["service_agent"]
    assert member == cloud.service_agent()["member"]
    assert cloud.grants() == {
        bucket_grant(SOURCE, ROLE_OBJECT_VIEWER, member), bucket_grant(DICOM_BUCKET, ROLE_OBJECT_ADMIN, member),
        bucket_grant(PNG_BUCKET, ROLE_OBJECT_ADMIN, member), bucket_grant(SUBSET_BUCKET, ROLE_OBJECT_ADMIN, member),
        dataset_grant(BQ_DATASET, ROLE_BQ_DATA_EDITOR, member), project_grant(ROLE_BQ_JOB_USER, member)}
    steps = [urn for _, urn in first.steps]
    urns = job_urns(first)
    assert all(steps.index(urns["archive"]) < steps.index(urns[name])
               for name in ("dicom-copy", "png-renders", "metadata", "generated-only"))

    cloud.clear_requests()
    second = program.up()
    assert second.ok, second.text
    assert second.counts == {"same": 20}
    assert cloud.job_posts() == []

    # Per-entry triggers: only the PNG export runs again.
    png_entry = {**PNG_EXPORT, "triggers": ["re-render-1"]}
    program.write_config(_config([IMPORT], [DICOM_EXPORT, png_entry, BQ_EXPORT, FILTERED_EXPORT]))
    cloud.clear_requests()
    third = program.up()
    assert third.ok, third.text
    assert [urn for kind, urn in third.steps if kind == "replace"] == [urns["png-renders"]]
    assert third.counts == {"replace": 1, "same": 19}
    posts = cloud.job_posts()
    assert len(posts) == 1 and posts[0] == f"/v1/{STORE}:export", posts
    assert third.outputs["exports"]["png-renders"]["success_count"] == 9
    assert third.outputs["exports"]["png-renders"]["operation_name"] != \
        first.outputs["exports"]["png-renders"]["operation_name"]
    assert third.outputs["exports"]["dicom-copy"] == first.outputs["exports"]["dicom-copy"]

    # Destroy: every resource leaves the state; the Healthcare dataset and store are retained
    # (keep_store_on_destroy defaults to true), so the instances stay; exports stay in place.
    done = program.destroy()
    assert done.ok, done.text
    assert program.state()["resources"] == []
    assert done.counts == {"delete": 18, "retain": 2}
    assert sorted(steps_of(done, "retain")) == ["dicom-store", "healthcare-dataset"]
    assert cloud.sop_uids(STORE) == sops
    assert (cloud.objects(DICOM_BUCKET), cloud.objects(PNG_BUCKET), cloud.objects(SUBSET_BUCKET)) == (dicom, png, subset)
    assert len(cloud.bq_sop_uids(BQ_DATASET, BQ_TABLE)) == 9
    assert cloud.grants() == set()


# Patches of a copy of the root program that remove one kind of grant, and only that one.
NO_IMPORT_GRANT = [(
    "        grants=grants.import_source(bucket, depends_on=_bucket_deps(bucket)),\n",
    "        grants=[],  # TEST PATCH: no roles/storage.objectViewer on the source bucket\n")]
NO_GCS_EXPORT_GRANT = [(
    "grants = GrantSet(agent)\n",
    "grants = GrantSet(agent)\n"
    "grants.gcs_export = lambda bucket, depends_on=None: []  # TEST PATCH: no roles/storage.objectAdmin\n")]


def _bq_patch(keep_role: str) -> list[tuple[str, str]]:
    """GrantSet.bigquery_export replaced by one that creates only the grant for ``keep_role``."""
    make = {
        ROLE_BQ_DATA_EDITOR: ('gcp.bigquery.DatasetIamMember(f"{p}-{d}-bq-data-editor", project=p, dataset_id=d, '
                              'role="roles/bigquery.dataEditor", member=agent, opts=grants._opts(depends_on))'),
        ROLE_BQ_JOB_USER: ('gcp.projects.IAMMember(f"{p}-bq-job-user", project=p, role="roles/bigquery.jobUser", '
                           'member=agent, opts=grants.opts)'),
    }[keep_role]
    return [("grants = GrantSet(agent)\n",
             "grants = GrantSet(agent)\n"
             f"grants.bigquery_export = lambda p, d, depends_on=None: [{make}]  # TEST PATCH: only {keep_role}\n")]


# ``scope`` is where the hint says to grant the missing role ("grant ROLE on SCOPE"): the project
# id alone would prove nothing, since every failure names it through the operation's name.
@pytest.mark.parametrize("missing, exports, patches, scope", [
    (ROLE_OBJECT_VIEWER, [], NO_IMPORT_GRANT, f"bucket {SOURCE}"),
    (ROLE_OBJECT_ADMIN, [DICOM_EXPORT], NO_GCS_EXPORT_GRANT, f"bucket {DICOM_BUCKET}"),
    (ROLE_BQ_DATA_EDITOR, [BQ_EXPORT], _bq_patch(ROLE_BQ_JOB_USER), f"dataset {PROJECT}:{BQ_DATASET}"),
    (ROLE_BQ_JOB_USER, [BQ_EXPORT], _bq_patch(ROLE_BQ_DATA_EDITOR), f"project {PROJECT}"),
], ids=["no-objectViewer", "no-objectAdmin", "no-dataEditor", "no-jobUser"])
def test_root_program_fails_without_each_grant(tmp_path, cloud, missing, exports, patches, scope):
    sops, _ = _data_lake(cloud)
    program = Program(copy_root_program(tmp_path / "root", patches), cloud.stack)
    program.write_config(_config([IMPORT], exports))
    result = program.up()
    text = assert_permission_failure(result, cloud.service_agent()["email"], missing)
    assert f"{missing} on {scope}" in text, text
    assert missing not in {role for _, role, _ in cloud.grants()}
    failed = cloud.job_operations("import" if missing == ROLE_OBJECT_VIEWER else "export")
    assert failed and all(cloud.operation(op["name"])["error"]["code"] == 7 for op in failed)
    if missing == ROLE_OBJECT_VIEWER:
        assert cloud.sop_uids(STORE) == set()
    else:  # the import (whose grant is in place) did its work; only the export failed
        assert cloud.sop_uids(STORE) == sops


# The bootstrap removed: the member looked up (gcp.organizations.get_project) instead of created.
NO_AGENT_BOOTSTRAP = [
    ('healthcare = HealthcareServiceAgent("project", project)\n',
     "from pulumi_dicom_jobs.gcp.grants import healthcare_service_agent  # TEST PATCH: no API, no agent\n"),
    ("keep = pulumi.ResourceOptions(retain_on_delete=keep_store, depends_on=[healthcare.api])\n",
     "keep = pulumi.ResourceOptions(retain_on_delete=keep_store)\n"),
    ("agent = healthcare.member\n", "agent = healthcare_service_agent(project)\n"),
]


def test_root_program_without_the_agent_bootstrap_fails_as_on_a_fresh_project(tmp_path, cloud):
    """On a fresh project the agent does not exist until created: a grant to it is refused
    ("Service account ... does not exist"), as on Google Cloud; with the bootstrap the same
    program creates it first, and a second bootstrap on a project that has it is a no-op."""
    _data_lake(cloud)
    assert cloud.service_agent()["exists"] is False  # IAM enforced: a fresh project
    bare = Program(copy_root_program(tmp_path / "bare", NO_AGENT_BOOTSTRAP), cloud.stack)
    bare.write_config(_config([IMPORT], []))
    failed = bare.up()
    assert not failed.ok
    assert f"Service account {cloud.service_agent()['email']} does not exist" in failed.text, failed.text
    assert cloud.grants() == set() and cloud.job_operations() == []

    program = Program(copy_root_program(tmp_path / "root"), cloud.stack)
    program.write_config({**_config([IMPORT], []), "dicom-environment:dataset": "imaging-bootstrapped"})
    first = program.up()
    assert first.ok, first.text
    assert cloud.service_agent()["exists"] is True
    member = cloud.service_agent()["member"]
    assert cloud.grants() == {bucket_grant(SOURCE, ROLE_OBJECT_VIEWER, member)}
    steps = [urn for _, urn in first.steps]
    identity = next(u for u in steps if u.endswith("::project-healthcare-agent"))
    grant = next(u for u in steps if "bucketIAMMember" in u)
    assert steps.index(identity) < steps.index(grant)
    # Both exist now: the bare program (lookup only) works too, as on a bootstrapped project.
    assert bare.up().ok
