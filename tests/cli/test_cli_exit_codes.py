"""The CLI's exit codes (docs/cli.md, ``dicom-jobs --help``), one outcome each,
in process (click's runner) against a scripted loopback API (support.scripted).

The subprocess tests in test_cli_commands.py drive the same codes through the
emulator; these are fast enough for ``make mutate`` to run for every mutant
of the CLI, and reach outcomes the emulator cannot give on demand. Every API answer at
every request a command makes: test_cli_exit_matrix.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.cli_inprocess import run_cli
from support.operations import DATASET, IMPORT_METHOD, OPERATION, STORE, operation
from support.scripted import ScriptedApi
from pulumi_dicom_jobs.cli import outcomes
from pulumi_dicom_jobs.cli.outcomes import EXIT_CODES, EXIT_CODES_HELP, outcome_of, state_of
from pulumi_dicom_jobs.failures import FailureReason
from pulumi_dicom_jobs.lro.status import OperationStatus


def _op(done: bool = True, error: dict | None = None, success: int = 2, failure: int = 0) -> dict:
    return operation(OPERATION, done=done, method=IMPORT_METHOD, create_time="2026-01-01T00:00:00Z",
                     success=success, failure=failure, error=error)


def _run(monkeypatch: pytest.MonkeyPatch, routes: dict, *args: str) -> tuple[int, dict | None, ScriptedApi]:
    run = run_cli(monkeypatch, routes, *args)  # --json, and --no-progress where the command takes it
    return run.exit_code, run.data, run.api


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


@pytest.mark.parametrize("args", [[], ["--wait"]], ids=["cancel", "cancel --wait"])
@pytest.mark.parametrize("finished, state", [
    (_op(), "SUCCEEDED"),
    (_op(error={"code": 3, "message": "1 of 3 failed"}, success=2, failure=1), "FAILED"),
    (_op(error={"code": 1, "message": "Operation was cancelled."}, success=1), "CANCELLED"),
])
def test_cancel_of_a_finished_operation_sends_no_cancel_and_exits_7(monkeypatch, args: list, finished: dict,
                                                                    state: str) -> None:
    exit_code, data, api = _run(monkeypatch, {("GET", "/operations/9$"): (200, finished),
                                              ("POST", ":cancel$"): (200, {})}, "cancel", OPERATION, *args)
    assert (exit_code, data["exitCode"], data["state"]) == (7, 7, state), data
    assert data["message"] == f"Operation {OPERATION} had already finished (state: {state}): no cancel was sent."
    assert not api.calls_to("POST", ":cancel$")


def test_cancel_of_an_operation_that_finishes_first_says_so_and_exits_7(monkeypatch) -> None:
    exit_code, data, api = _run(monkeypatch, {("GET", "/operations/9$"): [(200, _op(done=False)), (200, _op())],
                                              ("POST", ":cancel$"): (200, {})}, "cancel", OPERATION)
    assert (exit_code, data["state"]) == (7, "SUCCEEDED"), data
    assert data["message"] == (f"Operation {OPERATION} finished before the cancel took effect (state: SUCCEEDED): "
                               "nothing was cancelled.")
    assert len(api.calls_to("POST", ":cancel$")) == 1


def test_cancel_of_a_running_operation_exits_0(monkeypatch) -> None:
    cancelling = operation(OPERATION, method=IMPORT_METHOD, create_time="2026-01-01T00:00:00Z", cancel_requested=True)
    exit_code, data, api = _run(monkeypatch, {("GET", "/operations/9$"): [(200, _op(done=False)), (200, cancelling)],
                                              ("POST", ":cancel$"): (200, {})}, "cancel", OPERATION)
    assert (exit_code, data["state"]) == (0, "CANCELLING"), data
    assert len(api.calls_to("POST", ":cancel$")) == 1


def test_the_nothing_to_cancel_code_is_in_the_commands_help() -> None:
    assert re.search(r"^  7 +cancel: the operation had already finished", EXIT_CODES_HELP, re.M)


# -- the verdict table itself (cli/outcomes.py), every reason the job layer can give --
OUTCOMES = [
    ("invalid_input", 2, "INVALID_INPUT"),
    ("start_failed", 6, "START_FAILED"),
    ("in_flight", 6, "IN_FLIGHT"),
    ("operation_error", 3, "FAILED"),
    ("too_many_failures", 3, "FAILED"),
    ("timeout", 4, "TIMED_OUT"),
    ("cancelled", 5, "CANCELLED"),
    ("vanished", 6, "NOT_FOUND"),
    ("interrupted", 1, "ERROR"),  # the CLI passes no cancel token: its Ctrl-C is its own path (130)
]


@pytest.mark.parametrize("reason, code, state", OUTCOMES)
def test_each_job_failure_reason_has_its_documented_exit_code(reason: str, code: int, state: str) -> None:
    assert outcome_of(reason) == (code, state)
    assert re.search(rf"^  {code} ", EXIT_CODES_HELP, re.M), f"exit {code} is not in the commands' help"


def test_every_reason_is_in_the_table_and_an_unknown_one_is_an_internal_error() -> None:
    assert sorted(reason for reason, _code, _state in OUTCOMES) == sorted(FailureReason)
    assert outcome_of("something new") == (1, "ERROR")


def _docs_exit_codes() -> list[tuple[int, str]]:
    """docs/cli.md's "Exit codes" table, as (code, meaning) with the Markdown's backticks dropped."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    section = text.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M)
    return [(int(code), meaning.replace("`", "")) for code, meaning in rows]


def test_the_help_and_the_docs_show_the_one_exit_code_table() -> None:
    """outcomes.EXIT_CODES: every EXIT_* constant once, the epilog written from it, docs/cli.md equal."""
    constants = sorted(value for name, value in vars(outcomes).items() if name.startswith("EXIT_")
                       and isinstance(value, int))
    assert sorted(code for code, _meaning in EXIT_CODES) == constants
    assert _docs_exit_codes() == list(EXIT_CODES)
    help_text = " ".join(EXIT_CODES_HELP.split())
    for code, meaning in EXIT_CODES:
        assert f" {code} {meaning}" in help_text, (code, meaning)
    # written from the table when the CLI loads; what every command's --help ends with
    # (``\b``: click keeps the block's lines as they are; 72 columns fit an 80-column terminal)
    assert outcomes._exit_codes_help() == EXIT_CODES_HELP == HELP_EPILOG


HELP_EPILOG = """\b
Exit codes:
  0    success (failed instances within --max-failed-instances)
  1    unexpected internal error
  2    bad input (usage error, or an input the resources' check rejects)
  3    the operation failed
  4    timeout (import/export cancel the operation)
  5    the operation was cancelled
  6    API problem (could not start, same kind of job already running,
       no such dataset or store, no credentials, unknown operation,
       unreachable)
  7    cancel: the operation had already finished, nothing was cancelled
  130  interrupted with Ctrl-C, operation left running
"""


@pytest.mark.parametrize("raw, state", [
    ({"done": False}, "RUNNING"),
    ({"done": False, "metadata": {"cancelRequested": True}}, "CANCELLING"),
    ({"done": True}, "SUCCEEDED"),
    ({"done": True, "error": {"code": 1, "message": "cancelled"}}, "CANCELLED"),
    ({"done": True, "error": {"code": 2, "message": "unknown"}}, "FAILED"),
    ({"done": True, "metadata": {"cancelRequested": True}, "error": {"code": 3, "message": "x"}}, "FAILED"),
])
def test_the_state_shown_is_the_apis(raw: dict, state: str) -> None:
    assert state_of(OperationStatus.from_json({"name": OPERATION, **raw})) == state
