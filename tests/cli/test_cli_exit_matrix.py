"""The CLI's documented exit code for every answer the API can give, at every request a
command makes (docs/cli.md, "Exit codes"), in process on a scripted API and the fake clock
(support.cli_inprocess).

Where a request can be refused: the in-flight check's listing of the dataset's operations,
the start POST, the listing that looks for the operation a lost start answer made, a poll
(``wait``'s first, ``status``, the polls of a running wait), a cancel (``dicom-jobs cancel``,
a timeout's, a Ctrl-C's). Each gets every HTTP error status the API layer types (and one it
does not), and each outcome its code and ``--json`` state. How an operation can end: every
``google.rpc.Code``. test_cli_exit_codes.py holds the verdict table itself.
"""

from __future__ import annotations

import pytest

from support.cli_inprocess import ctrl_c_at_the_first_pause, fast_clock, run_cli
from support.operations import DATASET, IMPORT_METHOD, OPERATION, STORE, operation
from support.scripted import DROP
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api_facts import RPC_CODE_NAMES

SOURCE = "gs://bucket/x/**.dcm"
LISTING = ("GET", "/datasets/d/operations$")
NONE_RUNNING = (200, {"operations": []})
POLL = ("GET", "/operations/9$")
CANCEL = ("POST", "/operations/9:cancel$")

#: Every HTTP error the API layer tells apart (api/errors.py), and one it does not know.
REFUSALS = [(400, "INVALID_ARGUMENT"), (400, "FAILED_PRECONDITION"), (400, "OUT_OF_RANGE"),
            (401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED"), (404, "NOT_FOUND"), (409, "ALREADY_EXISTS"),
            (429, "RESOURCE_EXHAUSTED"), (500, "INTERNAL"), (501, "UNIMPLEMENTED"), (502, "Bad Gateway"),
            (503, "UNAVAILABLE"), (504, "DEADLINE_EXCEEDED"), (418, "I'm a teapot")]
IDS = [f"{status}-{name.split()[0]}" for status, name in REFUSALS]
#: A POST answered with one of these may have been processed (api/transport.py): the start
#: looks for the operation it may have made, then sends the POST again.
AMBIGUOUS = {500, 502, 504}


def _refusal(status: int, name: str) -> tuple[int, dict]:
    return status, {"error": {"code": status, "status": name, "message": f"refused here ({name})"}}


def _op(*, done: bool = True, error: tuple[int, str] | None = None, success: int = 2,
        failure: int = 0) -> dict:
    return operation(OPERATION, done=done, method=IMPORT_METHOD, create_time="2026-01-01T00:00:00Z",
                     success=success, failure=failure, pending=0 if done else 3, error=error)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Every pause (retries, settles, polls, the permission window) on the fake clock."""
    return fast_clock(monkeypatch)


def _import(monkeypatch, routes: dict, *extra: str):
    return run_cli(monkeypatch, routes, "import", STORE, SOURCE, *extra)


# -- the requests of a start ---------------------------------------------------------------
@pytest.mark.parametrize("status, name", REFUSALS, ids=IDS)
def test_a_refused_in_flight_listing_exits_6_and_posts_nothing(monkeypatch, status: int, name: str) -> None:
    run = _import(monkeypatch, {LISTING: _refusal(status, name)})
    assert (run.exit_code, run.state, run.data["exitCode"]) == (6, "START_FAILED", 6), run.output
    assert "could not start the DICOM import job" in run.data["message"]
    assert not run.api.calls_to("POST", ":import$")


@pytest.mark.parametrize("status, name", REFUSALS, ids=IDS)
def test_a_refused_start_post_exits_6(monkeypatch, status: int, name: str) -> None:
    run = _import(monkeypatch, {LISTING: NONE_RUNNING, ("POST", ":import$"): _refusal(status, name)})
    assert (run.exit_code, run.state, run.data["exitCode"]) == (6, "START_FAILED", 6), run.output
    assert run.data["message"].startswith("could not start the DICOM import job")
    posts = len(run.api.calls_to("POST", ":import$"))
    if status in AMBIGUOUS:  # maybe processed: looked for, never found, sent again, then given up
        assert posts == 4 and "start requests got no reliable answer" in run.data["message"]
    else:
        assert posts == (HealthcareClient().retry.attempts if status in (429, 503) else 1)
        assert name in run.data["message"]


@pytest.mark.parametrize("command", [["import", STORE, SOURCE], ["export", "gcs", STORE, "gs://bucket/out"],
                                     ["export", "bq", STORE, "bq://my-project.ds.t"]])
def test_a_start_refused_with_403_exits_6_for_every_kind(monkeypatch, command: list[str]) -> None:
    verb = command[0]
    run = run_cli(monkeypatch, {LISTING: NONE_RUNNING, ("POST", f":{verb}$"): _refusal(403, "PERMISSION_DENIED")},
                  *command)
    assert (run.exit_code, run.state) == (6, "START_FAILED"), run.output
    assert f"could not start the DICOM {verb} job: HTTP 403 PERMISSION_DENIED" in run.data["message"]


@pytest.mark.parametrize("status, name", REFUSALS, ids=IDS)
def test_a_refused_listing_after_a_lost_start_answer_exits_6(monkeypatch, status: int, name: str) -> None:
    """The start POST's connection drops after the request was sent: the listing that would
    find the operation it may have started is refused."""
    run = _import(monkeypatch, {LISTING: [NONE_RUNNING, _refusal(status, name)], ("POST", ":import$"): DROP})
    assert (run.exit_code, run.state) == (6, "START_FAILED"), run.output
    assert "listing the dataset's operations to find out failed" in run.data["message"]
    assert len(run.api.calls_to("POST", ":import$")) == 1  # never sent twice without knowing


# -- the polls -------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["wait", "status"])
@pytest.mark.parametrize("status, name", REFUSALS, ids=IDS)
def test_a_refused_first_read_of_an_operation_exits_6(monkeypatch, command: str, status: int, name: str) -> None:
    run = run_cli(monkeypatch, {POLL: _refusal(status, name)}, command, OPERATION)
    state = "NOT_FOUND" if status == 404 else "API_ERROR"
    assert (run.exit_code, run.state, run.data["exitCode"]) == (6, state, 6), run.output


@pytest.mark.parametrize("status, name", REFUSALS, ids=IDS)
def test_a_refused_poll_while_waiting_is_waited_out(monkeypatch, status: int, name: str) -> None:
    """A poll that fails even after the transport's retries is not fatal; only a 404 is
    (the operation is gone)."""
    run = _import(monkeypatch, {LISTING: NONE_RUNNING, ("POST", ":import$"): (200, {"name": OPERATION}),
                                POLL: [_refusal(status, name), (200, _op())]})
    if status == 404:
        assert (run.exit_code, run.state) == (6, "NOT_FOUND"), run.output
    else:
        assert (run.exit_code, run.state) == (0, "SUCCEEDED"), run.output


@pytest.mark.parametrize("status, name", [r for r in REFUSALS if r[0] != 404],
                         ids=[i for i, r in zip(IDS, REFUSALS) if r[0] != 404])
def test_polls_refused_until_the_timeout_exit_4(monkeypatch, status: int, name: str) -> None:
    run = _import(monkeypatch, {LISTING: NONE_RUNNING, ("POST", ":import$"): (200, {"name": OPERATION}),
                                POLL: _refusal(status, name), CANCEL: (200, {})}, "--timeout", "90")
    assert (run.exit_code, run.state, run.data["exitCode"]) == (4, "TIMED_OUT", 4), run.output
    assert run.api.calls_to(*CANCEL)


# -- the cancels -----------------------------------------------------------------------------
@pytest.mark.parametrize("status, name", REFUSALS, ids=IDS)
def test_a_refused_cancel_command_exits_6(monkeypatch, status: int, name: str) -> None:
    run = run_cli(monkeypatch, {CANCEL: _refusal(status, name), POLL: (200, _op(done=False))}, "cancel", OPERATION)
    state = "NOT_FOUND" if status == 404 else "API_ERROR"
    assert (run.exit_code, run.state) == (6, state), run.output


@pytest.mark.parametrize("status, name", REFUSALS, ids=IDS)
def test_a_timeout_whose_cancel_is_refused_still_exits_4(monkeypatch, status: int, name: str) -> None:
    run = _import(monkeypatch, {LISTING: NONE_RUNNING, ("POST", ":import$"): (200, {"name": OPERATION}),
                                POLL: (200, _op(done=False)), CANCEL: _refusal(status, name)}, "--timeout", "90")
    assert (run.exit_code, run.state) == (4, "TIMED_OUT"), run.output
    assert "cancel failed" in run.data["message"] and "it may still be running" in run.data["message"]


@pytest.mark.parametrize("status, name", REFUSALS, ids=IDS)
def test_a_refused_cancel_after_ctrl_c_exits_6(monkeypatch, clock, status: int, name: str) -> None:
    """Ctrl-C (a KeyboardInterrupt in the wait's first pause) with --cancel-on-interrupt."""
    interrupted = ctrl_c_at_the_first_pause(monkeypatch, clock)
    run = _import(monkeypatch, {LISTING: NONE_RUNNING, ("POST", ":import$"): (200, {"name": OPERATION}),
                                POLL: (200, _op(done=False)), CANCEL: _refusal(status, name)},
                  "--cancel-on-interrupt")
    assert interrupted, "the wait never paused"
    state = "NOT_FOUND" if status == 404 else "API_ERROR"
    assert (run.exit_code, run.state) == (6, state), run.output


# -- how an operation ends -------------------------------------------------------------------
CODES = sorted(code for code in RPC_CODE_NAMES if code != 0)


@pytest.mark.parametrize("code", CODES, ids=[RPC_CODE_NAMES[c] for c in CODES])
def test_every_code_an_operation_can_end_with_has_its_exit_code(monkeypatch, code: int) -> None:
    """CANCELLED exits 5, every other error 3, whether the command started the job or waits for it."""
    ended = _op(error=(code, f"ended with {RPC_CODE_NAMES[code]}"), success=0)
    expected = (5, "CANCELLED") if code == 1 else (3, "FAILED")
    waited = run_cli(monkeypatch, {POLL: (200, ended)}, "wait", OPERATION)
    assert (waited.exit_code, waited.state, waited.data["exitCode"]) == (*expected, expected[0]), waited.output
    started = _import(monkeypatch, {LISTING: NONE_RUNNING, ("POST", ":import$"): (200, {"name": OPERATION}),
                                    POLL: (200, ended)})
    assert (started.exit_code, started.state) == expected, started.output
    # PERMISSION_DENIED with no success is started again while fresh grants propagate, then fails alike
    posts = len(started.api.calls_to("POST", ":import$"))
    assert posts > 1 if code == 7 else posts == 1


@pytest.mark.parametrize("success, failure", [(0, 0), (0, 3), (5, 0), (5, 3)])
def test_permission_denied_exits_3_however_far_it_got(monkeypatch, success: int, failure: int) -> None:
    ended = _op(error=(7, "service-1@gcp-sa-healthcare.iam.gserviceaccount.com does not have "
                          "storage.objects.list access to the Google Cloud Storage bucket bucket."),
                success=success, failure=failure)
    run = _import(monkeypatch, {LISTING: NONE_RUNNING, ("POST", ":import$"): (200, {"name": OPERATION}),
                                POLL: (200, ended)})
    assert (run.exit_code, run.state, run.data["exitCode"]) == (3, "FAILED", 3), run.output
    assert "PERMISSION_DENIED" in run.data["message"] and "roles/storage.objectViewer" in run.data["message"]


def test_a_blocking_operation_of_another_run_exits_6_naming_it(monkeypatch) -> None:
    running = (200, {"operations": [{**_op(done=False), "name": f"{DATASET}/operations/77"}]})
    run = _import(monkeypatch, {LISTING: running})
    assert (run.exit_code, run.state) == (6, "IN_FLIGHT") and f"dicom-jobs wait {DATASET}/operations/77" in run.output


def test_a_restart_while_grants_propagate_is_said_with_its_cause(monkeypatch) -> None:
    """A second "Started" line with no reason read as a bug (issue 25's audit): each restart names why."""
    denied = _op(error=(7, "service-1@gcp-sa-healthcare.iam.gserviceaccount.com does not have "
                           "storage.objects.list access to the Google Cloud Storage bucket bucket."), success=0)
    run = _import(monkeypatch, {LISTING: NONE_RUNNING, ("POST", ":import$"): (200, {"name": OPERATION}),
                                POLL: (200, denied)})
    starts = len(run.api.calls_to("POST", ":import$"))
    lines = run.output.splitlines()
    assert starts > 1 and sum(line.startswith("Started import operation") for line in lines) == 1, run.output
    restarted = [line for line in lines if line.startswith("Permission denied (an IAM grant may still be propagating")]
    assert len(restarted) == starts - 1, run.output
    assert "docs/real-gcp.md#the-permission-retry" in restarted[0] and OPERATION in restarted[0]
