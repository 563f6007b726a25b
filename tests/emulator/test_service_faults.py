"""Fault injection: each action, countdown, admin calls untouched."""

from __future__ import annotations

import time

import pytest
import requests

from support.emulator import HealthcareApi, error_of

pytestmark = pytest.mark.usefixtures("iam_off")  # not about IAM: see the fixture


@pytest.fixture
def api(stack, emulator) -> HealthcareApi:
    return HealthcareApi(stack.healthcare_url)


def test_status_fault_counts_down_and_sets_retry_after(api: HealthcareApi, emulator):
    datasets = f"{api.location()}/datasets"
    emulator.post("faults", {"method": "GET", "path": r"/datasets$", "times": 2, "action": "status",
                             "status": 503, "retryAfter": 2})
    assert emulator.get("faults")["faults"][0]["times"] == 2
    # Admin calls are never faulted, and other methods/paths are not matched.
    assert emulator.get("health") == {"status": "ok"}
    assert api.post(datasets, {}, datasetId="untouched").status_code == 200
    for _ in range(2):
        response = api.get(datasets)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert error_of(response)["status"] == "UNAVAILABLE"
    assert emulator.get("faults") == {"faults": []}
    assert api.get(datasets).status_code == 200
    statuses = [(r["method"], r["status"]) for r in emulator.get("requests")["requests"]]
    assert statuses == [("POST", 200), ("GET", 503), ("GET", 503), ("GET", 200)]


def test_status_fault_does_not_process(api: HealthcareApi, emulator):
    emulator.post("faults", {"method": "POST", "path": "/datasets$", "action": "status", "status": 429})
    response = api.post(f"{api.location()}/datasets", {}, datasetId="never")
    assert response.status_code == 429 and error_of(response)["status"] == "RESOURCE_EXHAUSTED"
    assert "Retry-After" not in response.headers
    assert api.get(f"{api.location()}/datasets/never").status_code == 404


def test_reset_closes_without_processing(api: HealthcareApi, emulator):
    emulator.post("faults", {"method": "*", "path": "/datasets", "action": "reset"})
    with pytest.raises(requests.ConnectionError):
        api.post(f"{api.location()}/datasets", {}, datasetId="reset-one")
    assert api.get(f"{api.location()}/datasets/reset-one").status_code == 404
    log = emulator.get("requests")["requests"]
    assert log[0]["method"] == "POST" and log[0].get("fault") == "reset"


def test_delay_then_processes(api: HealthcareApi, emulator):
    emulator.post("faults", {"method": "POST", "path": "/datasets$", "action": "delay", "delaySeconds": 0.5})
    started = time.monotonic()
    response = api.post(f"{api.location()}/datasets", {}, datasetId="slow")
    assert time.monotonic() - started >= 0.5
    assert response.status_code == 200 and response.json()["done"] is True
    assert api.get(f"{api.location()}/datasets/slow").status_code == 200


def test_drop_after_processing_starts_the_operation_but_never_answers(api: HealthcareApi, emulator, unique):
    store = api.create_store(f"ds-{unique}")
    emulator.post("requests/clear")
    emulator.post("faults", {"method": "POST", "path": r":import$", "action": "drop_after_processing"})
    with pytest.raises(requests.ConnectionError):
        api.post(f"{store}:import", {"gcsSource": {"uri": "gs://somewhere/*.dcm"}})
    imports = [o for o in emulator.get("operations")["operations"] if o["store"] == store]
    assert len(imports) == 1
    assert imports[0]["request"] == {"gcsSource": {"uri": "gs://somewhere/*.dcm"}}
    assert api.wait_done(imports[0]["name"])["done"] is True  # it really runs
    log = emulator.get("requests")
    posts = [r for r in log["requests"] if r["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["fault"] == "drop_after_processing" and posts[0]["status"] == 200


def test_fault_admin_validation_and_clear(stack, emulator, api: HealthcareApi):
    base = f"{stack.healthcare_url}/_emulator/faults"
    for body in ({"action": "explode"}, {"path": "(", "action": "reset"}, {"times": 0},
                 {"action": "status", "status": 200}, {"bogus": 1}):
        assert requests.post(base, json=body, timeout=10).status_code == 400, body
    emulator.post("faults", {"method": "*", "path": ".*", "times": 5, "action": "status", "status": 500})
    assert api.get(f"{api.location()}/datasets").status_code == 500
    emulator.delete("faults")
    assert emulator.get("faults") == {"faults": []}
    assert api.get(f"{api.location()}/datasets").status_code == 200
