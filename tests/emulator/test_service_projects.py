"""Project numbers: one per project, stable, and the service agent that follows from it.

The agent a job runs as is ``service-{N}@...`` with N the number of the
store's project, so a grant to another project's agent (the BigQuery
project's, say) must not let the job through.
"""

from __future__ import annotations

import pytest
import requests

from healthcare_emulator.projects import ProjectNumbers
from healthcare_emulator.sampledata import synthetic_instance
from healthcare_emulator.server import EmulatorServer
from support.data import new_bucket, storage_client
from support.emulator import HealthcareApi

STORE_PROJECT = "store-project"
OTHER_PROJECT = "bigquery-project"


def test_every_project_has_its_own_stable_number():
    numbers = ProjectNumbers({"local-project": "123456789012"})
    first, second = numbers.number(STORE_PROJECT), numbers.number(OTHER_PROJECT)
    assert first != second and len(first) == len(second) == 12 and first[0] != "0"
    assert ProjectNumbers().number(STORE_PROJECT) == first  # the same in another run, pins aside
    assert numbers.number("local-project") == "123456789012"
    assert numbers.number("987654321098") == "987654321098"  # a project named by its number


@pytest.mark.parametrize("flags, problem", [
    (["42"], "PROJECT=NUMBER"),
    (["p=abc"], "PROJECT=NUMBER"),
    (["a-project=42", "a-project=43"], "pins a-project twice"),
    (["a-project=42", "b-project=42"], "cannot both have project number 42"),
])
def test_pinned_numbers_are_checked(flags, problem):
    with pytest.raises(ValueError, match=problem):
        ProjectNumbers.from_flags(flags)


def test_admin_surface_reads_a_projects_number(stack, emulator):
    agent = emulator.service_agent(OTHER_PROJECT)
    number = ProjectNumbers().number(OTHER_PROJECT)
    assert agent["project"] == OTHER_PROJECT and agent["projectNumber"] == number
    assert agent["email"] == f"service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    missing = requests.get(f"{stack.healthcare_url}/_emulator/service-agent", timeout=10)
    assert missing.status_code == 400 and "project is required" in missing.json()["error"]["message"]
    missing = requests.post(f"{stack.healthcare_url}/_emulator/service-agent", json={}, timeout=10)
    assert missing.status_code == 400


def test_a_grant_to_another_projects_agent_does_not_let_a_job_through(stack):
    with EmulatorServer(storage_url=stack.storage_url, enforce_iam=True) as server:
        admin = f"{server.url}/_emulator"
        api = HealthcareApi(server.url)
        store = api.create_store("ds", project=STORE_PROJECT)
        bucket = new_bucket(storage_client(), {"a.dcm": synthetic_instance()}).name
        agents = {p: requests.post(f"{admin}/service-agent", json={"project": p}, timeout=10).json()
                  for p in (STORE_PROJECT, OTHER_PROJECT)}
        assert agents[STORE_PROJECT]["email"] != agents[OTHER_PROJECT]["email"]
        grant = {"resource": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
                 "role": "roles/storage.objectViewer", "member": agents[OTHER_PROJECT]["member"]}
        assert requests.post(f"{admin}/iam", json=grant, timeout=10).status_code == 200

        op = api.wait_done(api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket}/a.dcm"}}))
        assert op["error"]["code"] == 7, op
        assert op["error"]["message"].startswith(agents[STORE_PROJECT]["email"]), op

        grant["member"] = agents[STORE_PROJECT]["member"]
        assert requests.post(f"{admin}/iam", json=grant, timeout=10).status_code == 200
        op = api.wait_done(api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket}/a.dcm"}}))
        assert "response" in op, op


def test_a_grant_to_an_agent_never_created_is_refused(stack):
    with EmulatorServer(storage_url=stack.storage_url, enforce_iam=True) as server:
        admin = f"{server.url}/_emulator"
        requests.post(f"{admin}/service-agent", json={"project": STORE_PROJECT}, timeout=10).raise_for_status()
        other = requests.get(f"{admin}/service-agent", params={"project": OTHER_PROJECT}, timeout=10).json()
        grant = {"resource": "//storage.googleapis.com/projects/_/buckets/b",
                 "role": "roles/storage.objectViewer", "member": other["member"]}
        refused = requests.post(f"{admin}/iam", json=grant, timeout=10)
        assert refused.status_code == 400
        assert refused.json()["error"]["message"] == f"Service account {other['email']} does not exist."
