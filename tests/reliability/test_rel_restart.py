"""Host killed mid-wait; a new host creates the same job again.

The engine, after a crash, runs ``create`` again for a resource whose first
create never returned. The operation the first host started is still
running. The API's operations carry no request body and no store name, so
the product cannot adopt "its" operation; it must detect it and say so:
before starting, a not-done operation of the same kind in the dataset,
older than the grace period (``DICOM_JOBS_IN_FLIGHT_GRACE_SECONDS``, made
small here), makes the create fail naming it, without a second POST.
Siblings started within the grace period do not, nor do siblings the same
host started (however long ago), and ``DICOM_JOBS_IN_FLIGHT_CHECK=off``
turns the check off.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from healthcare_emulator.sampledata import synthetic_instance
from healthcare_emulator.waiting import poll
from pulumi.dynamic.dynamic import serialize_provider
from pulumi_dicom_jobs import jobs, settings
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.dynamic.providers import DicomImportJobProvider
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_offline.host import DynamicProviderHost, HostError

URN = "urn:pulumi:s::p::pulumi-python:dynamic:Resource::restart"
GRACE_S = 1.0
HOST_ENV = {settings.IN_FLIGHT_GRACE_ENV: str(GRACE_S)}
IMPORT_METHOD = "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData"


def _older_than(rest, name: str, seconds: float) -> bool:
    created = rest.operation(name)["metadata"]["createTime"]
    moment = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    return (dt.datetime.now(dt.timezone.utc) - moment).total_seconds() > seconds


def _import_posts(emulator) -> int:
    return sum(1 for r in emulator.get("requests")["requests"]
               if r["method"] == "POST" and r["path"].endswith(":import"))


def test_restarted_host_does_not_start_a_second_operation_unnoticed(emulator, rest) -> None:
    emulator.post("config", {"operationMinSeconds": 60.0})
    bucket = rest.bucket({"in/a.dcm": synthetic_instance(seed=4)})
    store = rest.store()
    inputs = {"dicom_store": store, "gcs_source": {"uri": f"gs://{bucket}/in/**.dcm"},
              "__provider": serialize_provider(DicomImportJobProvider())}
    first = DynamicProviderHost(env=HOST_ENV).start()
    try:
        threading.Thread(target=lambda: _swallow(first.create, URN, inputs), daemon=True).start()
        in_flight = poll(lambda: emulator.dicom_operations(store), deadline_s=30, what="the first host's operation")
        assert len(in_flight) == 1
    finally:
        first.kill()
    name = in_flight[0]["name"]
    # the restart comes later than the grace period (as after a real crash)
    poll(lambda: _older_than(rest, name, GRACE_S + 0.2), deadline_s=30, what="operation older than the grace")
    with DynamicProviderHost(env=HOST_ENV) as second:
        try:
            id_, _ = second.create(URN, inputs)
        except HostError as exc:
            id_, message = None, exc.details
    assert id_ is None, f"create started a second operation: {id_}"
    ops = emulator.dicom_operations(store)
    assert [op["name"] for op in ops] == [name], "a second operation was started"
    assert _import_posts(emulator) == 1
    op = rest.operation(name)
    assert not op["done"]
    counter = op["metadata"].get("counter", {})
    for expected in (name, op["metadata"]["createTime"], IMPORT_METHOD,
                     f"success={int(counter.get('success', 0))}",
                     f"pending={int(counter.get('pending', 0))}",
                     "may be this job's own operation from an interrupted run",
                     f"dicom-jobs wait {name}", f"dicom-jobs cancel {name}", "then run again",
                     f"{settings.IN_FLIGHT_CHECK_ENV}=off"):
        assert expected in message, (expected, message)


def test_in_flight_check_off_starts_anyway(emulator, rest, monkeypatch) -> None:
    emulator.post("config", {"operationMinSeconds": 60.0})
    bucket = rest.bucket({"in/a.dcm": synthetic_instance(seed=5)})
    store = rest.store()
    body = {"gcsSource": {"uri": f"gs://{bucket}/in/**.dcm"}}
    other = rest.call("POST", f"{store}:import", body).json()["name"]
    poll(lambda: _older_than(rest, other, 0.3), deadline_s=30, what="operation older than the grace")
    emulator.post("config", {"operationMinSeconds": 0.0})
    monkeypatch.setenv(settings.IN_FLIGHT_GRACE_ENV, "0")
    monkeypatch.setenv(settings.IN_FLIGHT_CHECK_ENV, "off")
    with HealthcareClient() as client:
        status = jobs.run_job(client, JobKind.IMPORT, store, body, timeout_seconds=60)
    assert status.done and status.name != other
    assert len(emulator.dicom_operations(store)) == 2
    monkeypatch.delenv(settings.IN_FLIGHT_CHECK_ENV)  # back on: the older import is named
    with HealthcareClient() as client, pytest.raises(JobFailed) as info:
        jobs.run_job(client, JobKind.IMPORT, store, body, timeout_seconds=60)
    assert info.value.reason == "in_flight" and other in str(info.value)
    assert len(emulator.dicom_operations(store)) == 2


def test_siblings_within_the_grace_period_both_run(emulator, rest) -> None:
    emulator.post("config", {"operationMinSeconds": 1.0})
    bucket = rest.bucket({"in/a.dcm": synthetic_instance(seed=6)})
    store = rest.store()
    body = {"gcsSource": {"uri": f"gs://{bucket}/in/**.dcm"}}
    other = rest.call("POST", f"{store}:import", body).json()["name"]
    with HealthcareClient() as client:  # default grace: 30 s
        status = jobs.run_job(client, JobKind.IMPORT, store, body, timeout_seconds=60)
    assert status.done and status.name != other
    assert len(emulator.dicom_operations(store)) == 2


def test_a_late_sibling_in_the_same_host_is_not_blocked(emulator, rest) -> None:
    """One ``pulumi up``: the second import starts long after the first (its grant came late)."""
    emulator.post("config", {"operationMinSeconds": 60.0})
    bucket = rest.bucket({"in/a.dcm": synthetic_instance(seed=7)})
    store = rest.store()
    provider = serialize_provider(DicomImportJobProvider())
    inputs = {"dicom_store": store, "gcs_source": {"uri": f"gs://{bucket}/in/**.dcm"},
              "__provider": provider}
    with DynamicProviderHost(env=HOST_ENV) as host:
        first = threading.Thread(target=lambda: _swallow(host.create, URN + "-first", inputs),
                                 daemon=True)
        first.start()
        early = poll(lambda: emulator.dicom_operations(store), deadline_s=30, what="the first sibling's operation")
        poll(lambda: _older_than(rest, early[0]["name"], GRACE_S + 0.2), deadline_s=30,
              what="first sibling older than the grace")
        emulator.post("config", {"operationMinSeconds": 0.0})  # the late sibling ends at once
        try:
            id_, outputs = host.create(URN + "-late", inputs)
        finally:
            rest.call("POST", f"{early[0]['name']}:cancel")
            first.join(timeout=60)
    assert id_ != early[0]["name"] and outputs["operation_name"] == id_
    assert not first.is_alive()
    assert _import_posts(emulator) == 2
    # the other half of the rule: the same late start from a *new* host is refused (see above)


def _swallow(fn, *args):
    try:
        fn(*args)
    except Exception:  # the host is killed under it
        pass
