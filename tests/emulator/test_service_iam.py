"""IAM enforcement for the service agent: roles, propagation delay, denials."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from healthcare_emulator.sampledata import synthetic_instance
from healthcare_emulator.server import EmulatorServer
from healthcare_emulator.waiting import poll
from support.data import new_bucket, storage_client
from support.emulator import PROJECT, HealthcareApi

AGENT = "service-123456789012@gcp-sa-healthcare.iam.gserviceaccount.com"
MEMBER = f"serviceAccount:{AGENT}"


def bucket_grant(bucket: str, role: str) -> dict:
    return {"resource": f"//storage.googleapis.com/projects/_/buckets/{bucket}", "role": role, "member": MEMBER}


@pytest.fixture
def setup(stack, emulator, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    bucket = new_bucket(storage_client(), {"a.dcm": synthetic_instance()})
    return api, store, bucket.name


def run_import(api: HealthcareApi, store: str, bucket: str) -> dict:
    return api.wait_done(api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket}/a.dcm"}}))


def assert_denied(op: dict, *facts: str) -> None:
    assert op["error"]["code"] == 7, op
    assert "response" not in op
    for fact in (AGENT, *facts):
        assert fact in op["error"]["message"], (fact, op["error"]["message"])


def test_enforced_iam_needs_a_bucket_grant_after_propagation(setup, emulator):
    api, store, bucket = setup
    # An hour while the grant must still be propagating (a loaded machine cannot outrun it
    # between the grant and the job's check, as it could 0.6 s); shortened below to see it arrive.
    emulator.post("config", {"grantPropagationSeconds": 3600.0})
    emulator.create_service_agent()
    denial = f"{AGENT} does not have storage.objects.list access to the Google Cloud Storage bucket {bucket}."
    assert_denied(run_import(api, store, bucket), denial)

    # A project-level storage grant is deliberately not honoured for buckets.
    emulator.post("iam", {"resource": f"//cloudresourcemanager.googleapis.com/projects/{PROJECT}",
                          "role": "roles/storage.admin", "member": MEMBER})
    # A grant for someone else does not help either.
    emulator.post("iam", {**bucket_grant(bucket, "roles/storage.objectViewer"),
                          "member": "serviceAccount:someone@example.com"})
    emulator.post("iam", bucket_grant(bucket, "roles/storage.objectViewer"))
    # Not yet propagated: still denied, with the same words (the service gives no reason).
    op = run_import(api, store, bucket)
    assert_denied(op, denial)
    assert "roles/" not in op["error"]["message"]

    mine = lambda: [g for g in emulator.get("iam")["grants"] if g["member"] == MEMBER
                    and g["role"] == "roles/storage.objectViewer"]
    [pending] = mine()
    assert pending["effective"] is False and pending["effectiveInSeconds"] > 3500, pending
    emulator.post("config", {"grantPropagationSeconds": 0.6})  # the window is read at each check
    poll(lambda: mine()[0]["effective"], deadline_s=10, what="grant propagation")
    assert "response" in run_import(api, store, bucket)

    # Reading is not writing: an export to the same bucket needs objectAdmin.
    op = api.wait_done(api.start(store, "export", {"gcsDestination": {"uriPrefix": f"gs://{bucket}/out"}}))
    assert_denied(op, f"does not have storage.objects.create access to the Google Cloud Storage bucket {bucket}.")

    # Revoking takes effect at once.
    emulator.delete("iam", bucket_grant(bucket, "roles/storage.objectViewer"))
    assert mine() == []
    assert_denied(run_import(api, store, bucket), "storage.objects.list")


def test_bigquery_write_needs_data_editor_and_job_user(setup, emulator):
    api, store, _ = setup
    emulator.create_service_agent()
    dataset_resource = f"//bigquery.googleapis.com/projects/{PROJECT}/datasets/iamds"
    body = {"bigqueryDestination": {"tableUri": f"bq://{PROJECT}.iamds.t"}}

    op = api.wait_done(api.start(store, "export", body))
    assert_denied(op, f"Permission bigquery.tables.create denied on dataset {PROJECT}:iamds",
                  f"User does not have bigquery.jobs.create permission in project {PROJECT}.")
    assert "roles/" not in op["error"]["message"]

    emulator.post("iam", {"resource": dataset_resource, "role": "roles/bigquery.dataEditor", "member": MEMBER})
    op = api.wait_done(api.start(store, "export", body))
    assert_denied(op, f"bigquery.jobs.create permission in project {PROJECT}")
    assert "bigquery.tables.create" not in op["error"]["message"]

    emulator.delete("iam", {"resource": dataset_resource, "role": "roles/bigquery.dataEditor", "member": MEMBER})
    emulator.post("iam", {"resource": f"//cloudresourcemanager.googleapis.com/projects/{PROJECT}",
                          "role": "roles/bigquery.jobUser", "member": MEMBER})
    op = api.wait_done(api.start(store, "export", body))
    assert_denied(op, f"Permission bigquery.tables.create denied on dataset {PROJECT}:iamds")
    assert "bigquery.jobs.create" not in op["error"]["message"]

    emulator.post("iam", {"resource": dataset_resource, "role": "roles/bigquery.dataOwner", "member": MEMBER})
    op = api.wait_done(api.start(store, "export", body))
    assert op.get("error", {}).get("code") != 7, op  # allowed now (the dataset itself is missing)


def test_explicit_denial_wins_without_enforcement(setup, emulator):
    api, store, bucket = setup
    emulator.config(enforceIam=False)
    emulator.post("permissions", {"resource": f"gs://{bucket}", "deny": ["read"]})
    assert_denied(run_import(api, store, bucket), f"storage.objects.list access to the Google Cloud Storage bucket {bucket}.")
    # A grant does not override a denial.
    emulator.post("iam", bucket_grant(bucket, "roles/storage.admin"))
    assert_denied(run_import(api, store, bucket), f"bucket {bucket}.")
    assert emulator.get("permissions") == {"denials": [{"resource": f"gs://{bucket}", "deny": ["read"]}]}
    emulator.delete("permissions", {"resource": f"gs://{bucket}", "deny": ["read"]})
    assert "response" in run_import(api, store, bucket)

    emulator.post("permissions", {"resource": f"bq://{PROJECT}.anyds", "deny": ["write"]})
    op = api.wait_done(api.start(store, "export", {"bigqueryDestination": {"tableUri": f"bq://{PROJECT}.anyds.t"}}))
    assert_denied(op, f"Permission bigquery.tables.create denied on dataset {PROJECT}:anyds")
    emulator.delete("permissions")
    assert emulator.get("permissions") == {"denials": []}


def test_admin_iam_validation(stack, emulator):
    base = f"{stack.healthcare_url}/_emulator"
    for body in ({"resource": "gs://bucket", "role": "roles/storage.admin", "member": MEMBER},
                 {"resource": "//storage.googleapis.com/projects/_/buckets/b", "role": "owner", "member": MEMBER},
                 {"resource": "//storage.googleapis.com/projects/_/buckets/b", "role": "roles/x"}):
        assert requests.post(f"{base}/iam", json=body, timeout=10).status_code == 400
    assert requests.post(f"{base}/permissions", json={"resource": "s3://x", "deny": ["read"]},
                         timeout=10).status_code == 400
    assert requests.post(f"{base}/permissions", json={"resource": "gs://x", "deny": ["delete"]},
                         timeout=10).status_code == 400
    emulator.create_service_agent()
    emulator.post("iam", bucket_grant("b", "roles/storage.objectAdmin"))
    emulator.post("iam", bucket_grant("b", "roles/storage.objectAdmin"))  # additive, no duplicate
    assert len(emulator.get("iam")["grants"]) == 1
    emulator.reset()
    assert emulator.get("iam") == {"grants": []}


def test_a_grant_to_the_agent_needs_the_agent_to_exist():
    """With IAM enforced the emulator starts as a fresh project: the agent does not exist until
    created (admin POST service-agent, what gcp.projects.ServiceIdentity does), and a grant
    naming it is refused as IAM refuses it. Without enforcement every agent counts as existing."""
    from healthcare_emulator.errors import ApiError
    from healthcare_emulator.state import EmulatorState

    state = EmulatorState({"enforceIam": True})
    member = "serviceAccount:service-42@gcp-sa-healthcare.iam.gserviceaccount.com"
    assert state.agent_exists("42") is False
    with pytest.raises(ApiError) as refused:
        state.check_grant_member(member)
    assert refused.value.http_status == 400 and refused.value.status == "INVALID_ARGUMENT"
    assert refused.value.message == "Service account service-42@gcp-sa-healthcare.iam.gserviceaccount.com does not exist."
    state.check_grant_member("serviceAccount:someone@example.com")  # others are not modelled
    state.iam.create_agent("42")
    state.iam.create_agent("42")  # idempotent
    state.check_grant_member(member)
    with pytest.raises(ApiError):  # another project's agent is another agent
        state.check_grant_member("serviceAccount:service-43@gcp-sa-healthcare.iam.gserviceaccount.com")
    state.reset()
    assert state.agent_exists("42") is False
    assert EmulatorState({"enforceIam": False}).agent_exists("42") is True


def test_admin_service_agent_reports_and_creates(emulator):
    assert emulator.service_agent()["exists"] is False  # enforced: a fresh project
    created = emulator.create_service_agent()
    assert created["exists"] is True and created["member"] == MEMBER
    assert emulator.service_agent()["exists"] is True
    assert emulator.service_agent("other-project")["exists"] is False  # one agent per project


def _start_console_script(storage_url: str, *flags: str) -> tuple[subprocess.Popen, str]:
    """``healthcare-emulator`` as a user starts it; the process and its URL."""
    process = subprocess.Popen([sys.executable, "-m", "healthcare_emulator", "--port", "0",
                                "--storage-host", storage_url, *flags],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    assert line.startswith("healthcare-emulator listening on "), line
    return process, line.removeprefix("healthcare-emulator listening on ")


def _stop(process: subprocess.Popen) -> str:
    """Stop it as Ctrl-C would; what it wrote to stderr."""
    process.terminate()
    _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    return stderr


def _import_without_grants(url: str, bucket: str) -> dict:
    api = HealthcareApi(url)
    store = api.create_store("ds")
    return run_import(api, store, bucket)


NOT_ENFORCED = "warning: IAM is not enforced"


def test_iam_is_enforced_wherever_the_emulator_starts(stack, emulator):
    """The console script without flags, the server in process, the stack: all enforce IAM,
    so a job whose service agent has no grant is refused as on Google Cloud."""
    bucket = new_bucket(storage_client(), {"a.dcm": synthetic_instance()}).name
    process, url = _start_console_script(stack.storage_url)
    try:
        assert requests.get(f"{url}/_emulator/config", timeout=10).json()["enforceIam"] is True
        op = _import_without_grants(url, bucket)
        assert op["error"]["code"] == 7 and "storage.objects.list" in op["error"]["message"], op
    finally:
        assert NOT_ENFORCED not in _stop(process)
    with EmulatorServer(storage_url=stack.storage_url) as server:
        assert server.state.config["enforceIam"] is True
    assert emulator.get("config")["enforceIam"] is True  # the tests' LocalStack, after a reset


def test_no_enforce_iam_lets_jobs_through_and_warns_at_each_start(stack):
    bucket = new_bucket(storage_client(), {"a.dcm": synthetic_instance()}).name
    process, url = _start_console_script(stack.storage_url, "--no-enforce-iam")
    try:
        assert "response" in _import_without_grants(url, bucket)
    finally:
        stderr = _stop(process)
    assert f"{NOT_ENFORCED} (--no-enforce-iam)" in stderr and "PERMISSION_DENIED" in stderr


def test_turning_enforcement_off_at_run_time_warns(stack, capsys):
    with EmulatorServer(storage_url=stack.storage_url) as server:
        requests.post(f"{server.url}/_emulator/config", json={"enforceIam": False}, timeout=10).raise_for_status()
    assert f"{NOT_ENFORCED} (POST /_emulator/config)" in capsys.readouterr().err
