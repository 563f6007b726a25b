"""The CLI's exit codes (docs/cli.md, ``dicom-jobs --help``), one outcome each,
in process (click's runner) against a scripted loopback API (support.scripted).

The subprocess tests in test_cli_commands.py drive the same codes through the
emulator; these are fast enough for ``make mutate`` to run for every mutant
of the CLI, and reach outcomes the emulator cannot give on demand.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from support.scripted import ScriptedApi
from pulumi_dicom_jobs.cli.main import cli

DATASET = "projects/p/locations/l/datasets/d"
STORE = f"{DATASET}/dicomStores/s"
OPERATION = f"{DATASET}/operations/9"
IMPORT = "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData"


def _op(done: bool = True, error: dict | None = None, success: int = 2, failure: int = 0) -> dict:
    op = {"name": OPERATION, "done": done,
          "metadata": {"apiMethodName": IMPORT, "createTime": "2026-01-01T00:00:00Z",
                       "counter": {"success": str(success), "failure": str(failure)}}}
    if error is not None:
        op["error"] = error
    return op


def _run(monkeypatch: pytest.MonkeyPatch, routes: dict, *args: str) -> tuple[int, dict | None, ScriptedApi]:
    with ScriptedApi(routes) as api:
        monkeypatch.setenv("HEALTHCARE_EMULATOR_HOST", api.host)
        result = CliRunner().invoke(cli, [*args, "--json", "--no-progress"], catch_exceptions=False)
    lines = result.stdout.strip()
    data = json.loads(lines[lines.index("{"):]) if "{" in lines else None
    return result.exit_code, data, api


_NO_RUNNING = (200, {"operations": []})


@pytest.mark.parametrize("operation, code, state", [
    (_op(), 0, "SUCCEEDED"),
    (_op(error={"code": 3, "message": "1 of 3 failed"}, success=2, failure=1), 3, "FAILED"),
    (_op(error={"code": 5, "message": "no objects"}, success=0), 3, "FAILED"),
    (_op(error={"code": 1, "message": "Operation was cancelled."}, success=1), 5, "CANCELLED"),
])
def test_wait_exit_code_tells_the_outcome(monkeypatch, operation: dict, code: int, state: str) -> None:
    exit_code, data, _ = _run(monkeypatch, {("GET", "/operations/9$"): (200, operation)}, "wait", OPERATION)
    assert (exit_code, data["state"], data["exitCode"]) == (code, state, code), data


def test_failed_instances_within_the_allowance_exit_0(monkeypatch) -> None:
    operation = _op(error={"code": 3, "message": "1 of 3 failed"}, success=2, failure=1)
    exit_code, data, _ = _run(monkeypatch, {("GET", "/operations/9$"): (200, operation)},
                              "wait", OPERATION, "--max-failed-instances", "1")
    assert exit_code == 0 and data["state"] == "SUCCEEDED"


def test_an_unknown_operation_exits_6(monkeypatch) -> None:
    missing = (404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "no such operation"}})
    exit_code, data, _ = _run(monkeypatch, {("GET", "/operations/9$"): missing}, "wait", OPERATION)
    assert exit_code == 6 and data["state"] == "NOT_FOUND"


def test_a_timeout_exits_4_and_leaves_a_waited_operation_running(monkeypatch) -> None:
    exit_code, data, api = _run(monkeypatch, {("GET", "/operations/9$"): (200, _op(done=False, success=0))},
                                "wait", OPERATION, "--timeout", "0.5")
    assert exit_code == 4 and data["state"] == "TIMED_OUT"
    assert not api.calls_to("POST", ":cancel$")


def test_bad_input_exits_2_before_any_request(monkeypatch) -> None:
    exit_code, data, api = _run(monkeypatch, {}, "import", "not-a-store", "gs://bucket/x/**.dcm")
    assert exit_code == 2 and data["state"] == "INVALID_INPUT" and api.calls == []


def test_import_success_exits_0_after_one_post(monkeypatch) -> None:
    exit_code, data, api = _run(monkeypatch, {
        ("GET", "/datasets/d/operations$"): _NO_RUNNING,
        ("POST", ":import$"): (200, {"name": OPERATION}),
        ("GET", "/operations/9$"): (200, _op())}, "import", STORE, "gs://bucket/x/**.dcm")
    assert exit_code == 0 and data["state"] == "SUCCEEDED" and data["exitCode"] == 0
    assert len(api.calls_to("POST", ":import$")) == 1


def test_a_refused_start_exits_6(monkeypatch) -> None:
    refused = (400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "bad uri"}})
    exit_code, data, _ = _run(monkeypatch, {("GET", "/datasets/d/operations$"): _NO_RUNNING,
                                            ("POST", ":import$"): refused},
                              "import", STORE, "gs://bucket/x/**.dcm")
    assert exit_code == 6 and data["state"] == "START_FAILED"


def test_a_job_of_the_same_kind_still_running_exits_6(monkeypatch) -> None:
    # (another name than OPERATION: this process started that one, so it would count as a sibling)
    running = (200, {"operations": [{**_op(done=False, success=0), "name": f"{DATASET}/operations/77"}]})
    exit_code, data, api = _run(monkeypatch, {("GET", "/datasets/d/operations$"): running},
                                "import", STORE, "gs://bucket/x/**.dcm")
    assert exit_code == 6 and data["state"] == "IN_FLIGHT"
    assert not api.calls_to("POST", ":import$")


def test_an_import_timeout_exits_4_and_cancels(monkeypatch) -> None:
    cancelled: list[bool] = []

    def cancel(_call) -> tuple[int, dict]:
        cancelled.append(True)
        return 200, {}

    def get(_call) -> tuple[int, dict]:
        if cancelled:
            return 200, _op(error={"code": 1, "message": "Operation was cancelled."}, success=0)
        return 200, _op(done=False, success=0)

    exit_code, data, api = _run(monkeypatch, {
        ("GET", "/datasets/d/operations$"): _NO_RUNNING,
        ("POST", ":import$"): (200, {"name": OPERATION}),
        ("POST", "/operations/9:cancel$"): cancel,
        ("GET", "/operations/9$"): get,
    }, "import", STORE, "gs://bucket/x/**.dcm", "--timeout", "0.5")
    assert exit_code == 4 and data["state"] == "TIMED_OUT"
    assert cancelled == [True]
