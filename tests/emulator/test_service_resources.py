"""Datasets and DICOM stores over real HTTP, both API versions; auth; loopback; CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from healthcare_emulator.waiting import poll
from support.emulator import LOCATION, PROJECT, HealthcareApi, error_of

VERSIONS = ["v1", "v1beta1"]


@pytest.fixture(params=VERSIONS)
def api(request, stack, emulator) -> HealthcareApi:
    return HealthcareApi(stack.healthcare_url, request.param)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}])
def test_calls_without_bearer_token_are_unauthenticated(stack, emulator, version, headers):
    assert emulator.get("config")["enforceIam"] is True  # the default: IAM changes nothing here
    url = f"{stack.healthcare_url}/{version}/projects/{PROJECT}/locations/{LOCATION}/datasets"
    response = requests.get(url, headers=headers, timeout=10)
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == 401 and error["status"] == "UNAUTHENTICATED"
    assert "Bearer" in response.headers["WWW-Authenticate"]
    # The admin surface needs no token.
    assert requests.get(f"{stack.healthcare_url}/_emulator/health", timeout=10).json() == {"status": "ok"}


def test_dataset_lifecycle(api: HealthcareApi, unique):
    loc = api.location()
    created = api.post(f"{loc}/datasets", {"timeZone": "Europe/Paris"}, datasetId=f"ds-{unique}")
    assert created.status_code == 200, created.text
    op = created.json()
    name = f"{loc}/datasets/ds-{unique}"
    # Dataset creation is a long-running operation that is already done.
    assert op["done"] is True
    assert op["name"].startswith(f"{name}/operations/")
    assert op["response"] == {"@type": f"type.googleapis.com/google.cloud.healthcare.{api.version}.Dataset",
                              "name": name, "timeZone": "Europe/Paris"}
    assert op["metadata"]["apiMethodName"] == (
        f"google.cloud.healthcare.{api.version}.dataset.DatasetService.CreateDataset")
    assert api.get(op["name"]).json()["done"] is True

    assert api.get(name).json() == {"name": name, "timeZone": "Europe/Paris"}
    assert [d["name"] for d in api.get(f"{loc}/datasets").json()["datasets"]] == [name]

    again = api.post(f"{loc}/datasets", {}, datasetId=f"ds-{unique}")
    assert again.status_code == 409 and error_of(again)["status"] == "ALREADY_EXISTS"

    assert api.delete(name).status_code == 200
    missing = api.get(name)
    assert missing.status_code == 404 and error_of(missing)["status"] == "NOT_FOUND"
    assert api.delete(name).status_code == 404
    assert api.get(f"{loc}/datasets").json().get("datasets", []) == []


@pytest.mark.parametrize("bad_id", ["has space", "slash%2Fx", "a" * 257, "bang!", ""])
def test_bad_dataset_id_is_invalid_argument(api: HealthcareApi, bad_id):
    response = api.post(f"{api.location()}/datasets", {}, datasetId=bad_id)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["status"] == "INVALID_ARGUMENT"
    assert "datasetId" in error["message"]


def test_dataset_id_allows_unicode_letters_digits_dot_dash_underscore(api: HealthcareApi):
    response = api.post(f"{api.location()}/datasets", {}, datasetId="Données_1.2-x")
    assert response.status_code == 200, response.text


def test_missing_dataset_id_is_invalid_argument(api: HealthcareApi):
    response = api.post(f"{api.location()}/datasets", {})
    assert response.status_code == 400
    assert "datasetId" in error_of(response)["message"]


def test_dicom_store_lifecycle(api: HealthcareApi, unique):
    loc = api.location()
    dataset = f"{loc}/datasets/ds-{unique}"
    # A store in a missing dataset is NOT_FOUND.
    orphan = api.post(f"{dataset}/dicomStores", {}, dicomStoreId="s1")
    assert orphan.status_code == 404
    assert api.post(f"{loc}/datasets", {}, datasetId=f"ds-{unique}").status_code == 200

    created = api.post(f"{dataset}/dicomStores", {"labels": {"team": "imaging"}}, dicomStoreId="s1")
    assert created.status_code == 200, created.text
    store = f"{dataset}/dicomStores/s1"
    assert created.json() == {"name": store, "labels": {"team": "imaging"}}
    assert api.get(store).json() == created.json()

    duplicate = api.post(f"{dataset}/dicomStores", {}, dicomStoreId="s1")
    assert duplicate.status_code == 409 and error_of(duplicate)["status"] == "ALREADY_EXISTS"
    bad = api.post(f"{dataset}/dicomStores", {}, dicomStoreId="no/slash?")
    assert bad.status_code == 400 and "dicomStoreId" in error_of(bad)["message"]
    missing_id = api.post(f"{dataset}/dicomStores", {})
    assert missing_id.status_code == 400 and "dicomStoreId" in error_of(missing_id)["message"]

    assert api.post(f"{dataset}/dicomStores", {}, dicomStoreId="s2").status_code == 200
    names = [s["name"] for s in api.get(f"{dataset}/dicomStores").json()["dicomStores"]]
    assert names == [store, f"{dataset}/dicomStores/s2"]

    assert api.delete(store).status_code == 200
    assert api.get(store).status_code == 404
    assert api.delete(store).status_code == 404
    # Deleting the dataset takes its stores with it.
    assert api.delete(dataset).status_code == 200
    assert api.get(f"{dataset}/dicomStores/s2").status_code == 404


def test_list_paging(api: HealthcareApi):
    loc = api.location()
    for index in range(5):
        assert api.post(f"{loc}/datasets", {}, datasetId=f"p{index}").status_code == 200
    seen, token, pages = [], None, 0
    while True:
        params = {"pageSize": 2, **({"pageToken": token} if token else {})}
        body = api.get(f"{loc}/datasets", **params).json()
        pages += 1
        assert len(body["datasets"]) <= 2
        seen += [d["name"] for d in body["datasets"]]
        token = body.get("nextPageToken")
        if not token:
            break
    assert pages == 3
    assert seen == [f"{loc}/datasets/p{i}" for i in range(5)]
    bad = api.get(f"{loc}/datasets", pageToken="garbage!")
    assert bad.status_code == 400 and "pageToken" in error_of(bad)["message"]


def test_unknown_path_is_not_found_json(api: HealthcareApi):
    response = api.get("projects/p/locations/l/nothing-here")
    assert response.status_code == 404
    assert error_of(response)["status"] == "NOT_FOUND"


def test_request_log_records_non_admin_requests(stack, emulator):
    api = HealthcareApi(stack.healthcare_url)
    assert emulator.get("requests") == {"count": 0, "requests": []}
    api.get(f"{api.location()}/datasets")
    api.post(f"{api.location()}/datasets", {}, datasetId="logged")
    emulator.get("config")  # admin calls are not logged
    log = emulator.get("requests")
    assert log["count"] == 2
    assert [(r["method"], r["path"], r["status"]) for r in log["requests"]] == [
        ("GET", f"/v1/{api.location()}/datasets", 200),
        ("POST", f"/v1/{api.location()}/datasets", 200)]
    emulator.post("requests/clear")
    assert emulator.get("requests")["count"] == 0


def test_config_merges_and_resets(stack, emulator):
    start = emulator.get("config")
    assert start == {"instanceDelaySeconds": 0.0, "operationMinSeconds": 0.0, "enforceIam": True,
                     "grantPropagationSeconds": 0.0, "maxSampleErrors": 10, "countDuplicatesAs": "nothing"}
    merged = emulator.post("config", {"instanceDelaySeconds": 0.25, "maxSampleErrors": 3})
    assert merged == {**start, "instanceDelaySeconds": 0.25, "maxSampleErrors": 3}
    bad = requests.post(f"{stack.healthcare_url}/_emulator/config", json={"nope": 1}, timeout=10)
    assert bad.status_code == 400 and "nope" in bad.json()["error"]["message"]
    bad = requests.post(f"{stack.healthcare_url}/_emulator/config", json={"countDuplicatesAs": "failure"},
                        timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "config countDuplicatesAs must be one of nothing, success, got 'failure'"
    assert emulator.post("config", {"countDuplicatesAs": "success"})["countDuplicatesAs"] == "success"
    emulator.reset()
    assert emulator.get("config") == start


def test_service_agent(emulator):
    agent = emulator.service_agent("local-project")
    assert agent == {"project": "local-project", "projectNumber": "123456789012",
                     "email": "service-123456789012@gcp-sa-healthcare.iam.gserviceaccount.com",
                     "member": "serviceAccount:service-123456789012@gcp-sa-healthcare.iam.gserviceaccount.com",
                     "exists": False}  # IAM enforced: as on a fresh project, until created
    assert emulator.create_service_agent("local-project") == {**agent, "exists": True}


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of LISTEN sockets on ``port`` (from /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.append(address)
    return found


def test_stack_emulator_listens_on_loopback_only(stack):
    host, port = stack.healthcare_host.split(":")
    assert host == "127.0.0.1"
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("no /proc/net/tcp on this platform")
    # 0100007F is 127.0.0.1 in /proc's little-endian hex; 0.0.0.0 would be 00000000.
    assert _listening_addresses(int(port)) == ["0100007F"]


def test_in_process_server_binds_loopback():
    from healthcare_emulator.server import EmulatorServer

    with EmulatorServer(storage_url="http://127.0.0.1:1") as server:
        host, port = server.address
        assert host == "127.0.0.1" and port > 0
        assert server.url == f"http://127.0.0.1:{port}"
        assert requests.get(f"{server.url}/_emulator/health", timeout=5).json() == {"status": "ok"}
    with pytest.raises(ValueError, match="loopback"):
        EmulatorServer("0.0.0.0")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "healthcare_emulator", *args]


def test_cli_refuses_non_loopback_host():
    result = subprocess.run(_cli("--host", "0.0.0.0", "--port", "0"), capture_output=True, text=True,
                            timeout=30)
    assert result.returncode != 0
    assert "loopback" in result.stderr


def test_console_script_prints_ready_line_and_stops_on_sigterm(tmp_path):
    script = os.path.join(os.path.dirname(sys.executable), "healthcare-emulator")
    process = subprocess.Popen([script, "--port", "0", "--project-number", "p-42=42", "--count-duplicates-as",
                                "success"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        prefix = "healthcare-emulator listening on http://127.0.0.1:"
        assert line.startswith(prefix), line
        url = line.removeprefix("healthcare-emulator listening on ")
        agent = poll(lambda: requests.get(f"{url}/_emulator/service-agent?project=p-42", timeout=5).json(),
                     deadline_s=10)
        assert agent["email"] == "service-42@gcp-sa-healthcare.iam.gserviceaccount.com"
        assert requests.get(f"{url}/_emulator/config", timeout=5).json()["countDuplicatesAs"] == "success"
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0
