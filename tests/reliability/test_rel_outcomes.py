"""Operation outcomes and the exact message the user sees for each.

Runs through :func:`pulumi_dicom_jobs.jobs.run_job` (what ``create`` calls);
the message asserted is ``str(JobFailed)``, which the dynamic provider host
returns to the engine verbatim (one case checks that through the real host).
"""

from __future__ import annotations

import threading

import pytest

from healthcare_emulator.sampledata import broken_file, synthetic_instance
from healthcare_emulator.waiting import poll
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.kinds import JobKind


def _job(rest, files: dict[str, bytes]) -> tuple[str, dict]:
    bucket = rest.bucket(files)
    return rest.store(), {"gcsSource": {"uri": f"gs://{bucket}/in/**.dcm"}}


def _run(store, body, **kwargs):
    with HealthcareClient() as client:
        return jobs.run_job(client, JobKind.IMPORT, store, body, permission_retry_seconds=0, **kwargs)


def _import_stays(op: dict) -> str:
    """The last line of a cancelled import's message: what the cancel leaves in the store."""
    success = int(op["metadata"].get("counter", {}).get("success", 0))
    return f"A cancel does not roll back: the {success} instance(s) imported before the cancel stay in the store."


def _details(op: dict) -> str:
    """The lines every failure message carries after its headline."""
    counter = op["metadata"].get("counter", {})
    lines = [f"counters: success={int(counter.get('success', 0))} failure={int(counter.get('failure', 0))} "
             f"pending={int(counter.get('pending', 0))}"]
    error = op.get("error")
    names = {1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 5: "NOT_FOUND", 7: "PERMISSION_DENIED",
             9: "FAILED_PRECONDITION"}
    if error:
        lines.append(f"error: {names[error['code']]} (code {error['code']}): {error['message']}")
        samples = [s for d in error.get("details", []) for s in d.get("sampleErrors", [])]
        if samples:
            lines.append(f"sample errors ({min(5, len(samples))} of {len(samples)} reported):")
            for s in samples[:5]:
                lines.append(f"  - {s['resource']}: {names[s['error']['code']]}: {s['error']['message']}")
    lines.append(f"logs: {op['metadata']['logsUrl']}")
    return "\n".join(lines)


def _single_op(emulator, store) -> dict:
    ops = emulator.dicom_operations(store)
    assert len(ops) == 1, ops
    return ops[0]


def test_success(emulator, rest) -> None:
    store, body = _job(rest, {"in/a.dcm": synthetic_instance(seed=1), "in/b.dcm": synthetic_instance(seed=2)})
    status = _run(store, body)
    assert (status.done, status.success, status.failure, status.error) == (True, 2, 0, None)
    _single_op(emulator, store)


def test_partial_failure_within_max_failed_instances(emulator, rest) -> None:
    store, body = _job(rest, {"in/a.dcm": synthetic_instance(seed=1), "in/bad.dcm": broken_file()})
    status = _run(store, body, max_failed_instances=1)
    assert (status.success, status.failure) == (1, 1)


def test_partial_failure_over_max_failed_instances(emulator, rest) -> None:
    store, body = _job(rest, {"in/a.dcm": synthetic_instance(seed=1), "in/bad.dcm": broken_file()})
    with pytest.raises(JobFailed) as info:
        _run(store, body, max_failed_instances=0)
    name = _single_op(emulator, store)["name"]
    op = rest.operation(name)
    assert info.value.reason == "too_many_failures"
    assert str(info.value) == (
        "the DICOM import job finished with 1 failed instance(s), more than max_failed_instances=0 "
        f"(operation {name})\n" + _details(op))
    assert f"gs://{body['gcsSource']['uri'][5:].split('/')[0]}/in/bad.dcm" in str(info.value)


def test_total_failure(emulator, rest) -> None:
    # the verdict on a bucket that does not exist, not IAM: no grant can name such a bucket
    emulator.config(enforceIam=False)
    store = rest.store()
    body = {"gcsSource": {"uri": "gs://rel-no-such-bucket-0000/in/**.dcm"}}
    with pytest.raises(JobFailed) as info:
        _run(store, body)
    name = _single_op(emulator, store)["name"]
    op = rest.operation(name)
    assert op["error"]["code"] != 1
    assert info.value.reason in ("operation_error", "too_many_failures")
    headline = ("the DICOM import job failed" if info.value.reason == "operation_error" else
                f"the DICOM import job finished with {op['metadata']['counter'].get('failure')} failed "
                "instance(s), more than max_failed_instances=0")
    assert str(info.value) == f"{headline} (operation {name})\n" + _details(op)


def _in_background(fn):
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def _wait_for_op(emulator, store, deadline_s=30.0) -> dict:
    return poll(lambda: emulator.dicom_operations(store), deadline_s=deadline_s,
                what="the job to start an operation")[0]


def test_cancelled_by_someone_else(emulator, rest) -> None:
    emulator.post("config", {"operationMinSeconds": 60.0})
    store, body = _job(rest, {"in/a.dcm": synthetic_instance(seed=1)})
    thread, box = _in_background(lambda: _run(store, body))
    name = _wait_for_op(emulator, store)["name"]
    rest.call("POST", f"{name}:cancel", {}).raise_for_status()
    thread.join(60)
    assert not thread.is_alive()
    error = box.get("error")
    assert isinstance(error, JobFailed) and error.reason == "cancelled", box
    op = rest.operation(name)
    assert str(error) == (f"the DICOM import job was cancelled (operation {name})\n" + _details(op) + "\n"
                          + _import_stays(op))


def test_timeout_we_cancel(emulator, rest) -> None:
    emulator.post("config", {"operationMinSeconds": 60.0})
    store, body = _job(rest, {"in/a.dcm": synthetic_instance(seed=1)})
    with pytest.raises(JobFailed) as info:
        _run(store, body, timeout_seconds=1)
    name = _single_op(emulator, store)["name"]
    op = rest.operation(name)
    assert op["done"] and op["error"]["code"] == 1
    assert info.value.reason == "timeout"
    assert str(info.value) == (
        f"the DICOM job did not finish within timeout_seconds=1; operation {name} cancelled\n"
        + _details(op) + "\n" + _import_stays(op))
    assert str(info.value).count(name) == 1 + _details(op).count(name)  # named once


def test_operation_vanished(emulator, rest) -> None:
    emulator.post("config", {"operationMinSeconds": 60.0})
    store, body = _job(rest, {"in/a.dcm": synthetic_instance(seed=1)})
    thread, box = _in_background(lambda: _run(store, body))
    name = _wait_for_op(emulator, store)["name"]
    emulator.post("operations/forget", {"name": name})
    thread.join(120)
    assert not thread.is_alive()
    error = box.get("error")
    assert isinstance(error, JobFailed) and error.reason == "vanished", box
    assert str(error) == f"operation {name} is not known to the API (404): it expired or was deleted"
