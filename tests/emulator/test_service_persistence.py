"""``--data-dir`` keeps state across a restart; memory mode does not."""

from __future__ import annotations

import pytest

from healthcare_emulator.sampledata import synthetic_instance, uids_of
from healthcare_emulator.server import EmulatorServer
from healthcare_emulator.waiting import poll
from support.data import new_bucket, storage_client
from support.emulator import EmulatorAdmin, HealthcareApi


@pytest.fixture
def files():
    return {f"{i}.dcm": synthetic_instance(seed=i) for i in range(3)}


def test_state_survives_restart(stack, tmp_path, files):
    bucket = new_bucket(storage_client(), files)
    first = EmulatorServer(storage_url=stack.storage_url, data_dir=tmp_path).start()
    try:
        api = HealthcareApi(first.url)
        store = api.create_store("kept")
        agent = EmulatorAdmin(first.url).grant_agent(buckets=[bucket.name])
        done = api.wait_done(api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket.name}/*.dcm"}}))
        assert "response" in done
        granted = {(g["resource"], g["role"], g["member"]) for g in EmulatorAdmin(first.url).get("iam")["grants"]}
        EmulatorAdmin(first.url).post("permissions", {"resource": "gs://other-bucket", "deny": ["write"]})
        # An operation still running at shutdown comes back aborted.
        EmulatorAdmin(first.url).post("config", {"instanceDelaySeconds": 5})
        running = api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket.name}/*.dcm"}})
        poll(lambda: api.operation(running)["metadata"].get("counter"), deadline_s=10, what="the job to start")
    finally:
        first.stop()

    second = EmulatorServer(storage_url=stack.storage_url, data_dir=tmp_path).start()
    try:
        api = HealthcareApi(second.url)
        assert api.get(store).json()["name"] == store
        assert api.get(store.split("/dicomStores/")[0]).status_code == 200
        kept = api.operation(done["name"])
        assert kept["done"] is True and kept["response"] == done["response"]
        assert kept["metadata"]["counter"] == {"success": "3"}
        aborted = api.operation(running)
        assert aborted["done"] is True and aborted["error"]["code"] == 10
        sops = sorted(i["00080018"]["Value"][0] for i in api.get(f"{store}/dicomWeb/instances").json())
        assert sops == sorted(uids_of(d).sop for d in files.values())
        u = uids_of(files["0.dcm"])
        wado = api.get(f"{store}/dicomWeb/studies/{u.study}/series/{u.series}/instances/{u.sop}")
        assert files["0.dcm"] in wado.content
        grants = EmulatorAdmin(second.url).get("iam")["grants"]
        assert {(g["resource"], g["role"], g["member"]) for g in grants} == granted and len(granted) == 2
        assert EmulatorAdmin(second.url).service_agent() == agent  # it exists, with the same number
        assert EmulatorAdmin(second.url).get("permissions")["denials"] == [{"resource": "gs://other-bucket", "deny": ["write"]}]
        # Config is not persisted: it is back to the start-up values.
        assert EmulatorAdmin(second.url).get("config")["instanceDelaySeconds"] == 0.0

        # Deleting a store removes it from disk too; reset wipes everything.
        assert api.delete(store).status_code == 200
    finally:
        second.stop()
    third = EmulatorServer(storage_url=stack.storage_url, data_dir=tmp_path).start()
    try:
        api = HealthcareApi(third.url)
        assert api.get(store).status_code == 404
        assert api.get(store.split("/dicomStores/")[0]).status_code == 200
        EmulatorAdmin(third.url).post("reset")
    finally:
        third.stop()
    fourth = EmulatorServer(storage_url=stack.storage_url, data_dir=tmp_path).start()
    try:
        api = HealthcareApi(fourth.url)
        assert api.get(store.split("/dicomStores/")[0]).status_code == 404
        assert EmulatorAdmin(fourth.url).get("iam") == {"grants": []}
    finally:
        fourth.stop()


def test_memory_mode_forgets_on_restart(stack):
    first = EmulatorServer(storage_url=stack.storage_url).start()
    try:
        store = HealthcareApi(first.url).create_store("volatile")
    finally:
        first.stop()
    second = EmulatorServer(storage_url=stack.storage_url).start()
    try:
        assert HealthcareApi(second.url).get(store).status_code == 404
    finally:
        second.stop()
