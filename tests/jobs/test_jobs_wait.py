"""Waiting on a job and judging how it ended, and run_job's restart arithmetic:
on a scripted loopback API (support.scripted) and a fake clock (support.clock).

The rules, from ``jobs.wait``/``jobs.judge``/``jobs.run_job`` and
docs/lifecycle.md (the verdict), docs/real-gcp.md (the permission retry):

* a poll that fails even after the transport's retries is not fatal: the next
  one comes after the client's longest retry delay, until the deadline;
* done with ``failure <= max_failed_instances`` is a success, one more fails;
  a cancelled operation and an error fail (an import that counted nothing
  does not: only what the API reported fails a job);
* at the deadline the operation is cancelled (unless told not to) and the
  failure names it and the caller's budget; a CancelToken stops the wait;
* a PERMISSION_DENIED before any instance succeeded (failed instances or
  not) is started again within the window (from the first start), never past
  ``timeout_seconds``, which bounds the whole run.
"""

from __future__ import annotations

import itertools
from typing import Optional

import pytest

from support.clock import FakeClock
from support.operations import DATASET, GCS_EXPORT_METHOD as EXPORT_METHOD, IMPORT_METHOD, OPERATION, STORE
from support.operations import operation, snapshot
from support.scripted import ScriptedApi, scripted_client
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.jobs import operations
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.transport import RetryPolicy
from pulumi_dicom_jobs.failures import JobFailed, OperationNotFound
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro import backoff
from pulumi_dicom_jobs.lro.cancel import CancelToken
from pulumi_dicom_jobs.lro.schedule import PollSchedule
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.targets import JobTargets

IMPORT_BODY = {"gcsSource": {"uri": "gs://b/x/**.dcm"}}
#: A denial as Cloud Storage words it: the permission, not the role.
DENIED = ("service-1@gcp-sa-healthcare.iam.gserviceaccount.com does not have "
          "storage.objects.list access to the Google Cloud Storage bucket")
#: The client's longest retry delay: the pause after a poll that failed even after retries.
RETRY_MAXIMUM = 7.0
#: One attempt per request; the pause after a failed poll is RETRY_MAXIMUM.
RETRY = RetryPolicy(attempts=1, maximum=RETRY_MAXIMUM)
BROKEN = (500, {"error": {"code": 500, "status": "INTERNAL", "message": "poll broke"}})


def _op(name: str = OPERATION, *, done: bool, method: Optional[str] = IMPORT_METHOD, **fields) -> dict:
    return operation(name, done=done, method=method, create_time="2026-01-01T00:00:00Z", **fields)


def _status(**fields) -> OperationStatus:
    return OperationStatus.from_json(_op(**fields))


@pytest.fixture
def pinned_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every jittered delay at the top of its range: pauses 2, 4, 8... s exactly."""
    monkeypatch.setattr(backoff.random, "uniform", lambda low, high: high)


def _until_cancelled(name: str, before: list[dict], after: dict) -> dict:
    """Routes for operation ``name``: its answers before its cancel is posted (in
    order, the last repeated), then ``after``."""
    posted: list[bool] = []
    served = itertools.count()

    def cancel(_call) -> tuple[int, dict]:
        posted.append(True)
        return 200, {}

    def get(_call) -> tuple[int, dict]:
        return 200, (after if posted else before[min(next(served), len(before) - 1)])

    number = name.rsplit("/", 1)[1]
    return {("POST", rf"/operations/{number}:cancel$"): cancel, ("GET", rf"/operations/{number}$"): get}


RUNNING = _op(done=False, success=5, pending=5)
CANCELLED = _op(done=True, success=6, error=(1, "cancelled"), cancel_requested=True)


# -- wait: the poll on error, the schedule, the callbacks ----------------------------
def test_a_poll_that_fails_after_the_retries_waits_the_longest_retry_delay(clock, monkeypatch) -> None:
    """The failed poll is followed after the client's longest retry delay, a
    running one after the schedule's delay; only answers reach on_progress."""
    seen: list[OperationStatus] = []
    answers = [BROKEN, (200, _op(done=False)), (200, _op(done=True, success=3))]
    with ScriptedApi({("GET", r"/operations/9$"): answers}) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        status = jobs.wait(client, OPERATION, timeout_seconds=3600, on_progress=seen.append,
                           schedule=PollSchedule(initial=4.0, jitter=0.0))
        assert len(api.calls) == 3
    assert status.done and status.success == 3
    assert clock.sleeps == [RETRY_MAXIMUM, 4.0]
    assert [s.done for s in seen] == [False, True]


def test_the_default_schedule_waits_its_first_delay_first(clock, monkeypatch, pinned_jitter) -> None:
    """No counter yet: the first pause is the schedule's initial delay, jittered (pinned high here)."""
    answers = [(200, _op(done=False)), (200, _op(done=True, success=3))]
    with ScriptedApi({("GET", r"/operations/9$"): answers}) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        assert jobs.wait(client, OPERATION, timeout_seconds=3600).success == 3
    schedule = PollSchedule()
    assert clock.sleeps == [pytest.approx(schedule.initial * (1 + schedule.jitter))]


def test_polls_that_keep_failing_end_at_the_deadline_with_a_timeout(clock, monkeypatch) -> None:
    with ScriptedApi({("GET", r"/operations/9$"): BROKEN}) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, OPERATION, timeout_seconds=20, cancel_on_timeout=False)
        assert len(api.calls) == 4 and not api.calls_to("POST", ":cancel$")
    assert clock.sleeps == [RETRY_MAXIMUM, RETRY_MAXIMUM, 20 - 2 * RETRY_MAXIMUM] and clock.now == 20
    assert info.value.reason == "timeout" and info.value.operation is None
    assert "timeout_seconds=20" in str(info.value) and OPERATION in str(info.value)


# -- wait: the deadline and the interruption ------------------------------------------
def test_at_the_deadline_the_operation_is_cancelled_and_named(clock, monkeypatch) -> None:
    """A running operation with counters is no success at the deadline: by default
    it is cancelled and the failure names it, its counters and the caller's budget."""
    with ScriptedApi(_until_cancelled(OPERATION, [RUNNING], CANCELLED)) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, OPERATION, timeout_seconds=0)
        assert [c.path for c in api.calls_to("POST", ":cancel$")] == [f"/v1/{OPERATION}:cancel"]
    assert info.value.reason == "timeout"
    assert "timeout_seconds=0;" in str(info.value) and f"operation {OPERATION} cancelled" in str(info.value)
    assert info.value.operation is not None and info.value.operation.success == 6


def test_a_timeout_names_the_reported_budget(clock, monkeypatch) -> None:
    """run_job waits what is left of its budget but reports the budget itself."""
    with ScriptedApi(_until_cancelled(OPERATION, [RUNNING], CANCELLED)) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, OPERATION, timeout_seconds=0, reported_timeout=7200)
    assert info.value.reason == "timeout" and "timeout_seconds=7200;" in str(info.value)


def test_a_timeout_can_leave_the_operation_running(clock, monkeypatch) -> None:
    with ScriptedApi(_until_cancelled(OPERATION, [RUNNING], CANCELLED)) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, OPERATION, timeout_seconds=0, cancel_on_timeout=False)
        assert not api.calls_to("POST", ":cancel$")
    assert info.value.reason == "timeout" and f"operation {OPERATION} left running" in str(info.value)
    assert info.value.operation is not None and info.value.operation.success == 5  # the last snapshot
    assert "success=5" in str(info.value)


def test_an_interrupted_wait_cancels_the_operation_and_names_it(clock, monkeypatch) -> None:
    """The token is checked after every answer: the wait stops at the first, even
    though the operation would end by the next poll."""
    token = CancelToken()
    token.cancel()
    routes = _until_cancelled(OPERATION, [RUNNING, _op(done=True, success=10)], CANCELLED)
    with ScriptedApi(routes) as api, scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, OPERATION, timeout_seconds=600, cancel=token)
        assert [c.path for c in api.calls_to("POST", ":cancel$")] == [f"/v1/{OPERATION}:cancel"]
    assert info.value.reason == "interrupted"
    assert f"operation {OPERATION} cancelled" in str(info.value)
    assert info.value.operation is not None and info.value.operation.success == 6


def test_an_interrupted_wait_can_leave_the_operation_running(clock, monkeypatch) -> None:
    token = CancelToken()
    token.cancel()
    with ScriptedApi(_until_cancelled(OPERATION, [RUNNING], CANCELLED)) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, OPERATION, timeout_seconds=600, cancel=token, cancel_on_interrupt=False)
        assert not api.calls_to("POST", ":cancel$") and len(api.calls) == 1
    assert info.value.reason == "interrupted" and f"operation {OPERATION} left running" in str(info.value)
    assert info.value.operation is not None and info.value.operation.success == 5
    assert "success=5" in str(info.value)


def test_the_wait_passes_the_targets_to_the_verdict(clock, monkeypatch) -> None:
    """A denial naming a Cloud Storage permission gets the role and the bucket."""
    denied = _op(done=True, error=(7, DENIED))
    with ScriptedApi({("GET", r"/operations/9$"): (200, denied)}) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, OPERATION, timeout_seconds=60,
                      targets=JobTargets.of_request(JobKind.IMPORT, IMPORT_BODY))
    assert info.value.reason == "operation_error"
    assert "roles/storage.objectViewer on bucket b" in str(info.value)


# -- judge: the verdict ---------------------------------------------------------------
@pytest.mark.parametrize("fields, max_failed, reason, words", [
    # done with failures is a success up to max_failed_instances; one more fails
    (dict(success=5, failure=2, error=(3, "2 failed")), 2, None, None),
    (dict(success=5, failure=3, error=(3, "3 failed")), 2, "too_many_failures",
     "the DICOM import job finished with 3 failed instance(s), more than max_failed_instances=2"),
    (dict(success=5, failure=1, error=(3, "1 failed")), 0, "too_many_failures", "max_failed_instances=0"),
    (dict(success=5), 0, None, None),
    # a cancel is a cancel, however many failed
    (dict(success=5, failure=9, error=(1, "cancelled")), 0, "cancelled",
     "the DICOM import job was cancelled"),
    # an error with no failed instance is the operation's own failure
    (dict(success=5, error=(13, "internal")), 3, "operation_error", "the DICOM import job failed"),
    (dict(method=EXPORT_METHOD, error=(13, "internal")), 0, "operation_error", "the DICOM export job failed"),
    (dict(method=None, error=(13, "internal")), 0, "operation_error", "failed"),
    # counting nothing is no error the API reported: an import (every instance already stored,
    # when duplicates are not counted) and an export of an empty store succeed
    (dict(), 0, None, None),
    (dict(method=EXPORT_METHOD), 0, None, None),
])
def test_the_verdict(fields: dict, max_failed: int, reason: Optional[str], words: Optional[str]) -> None:
    status = _status(done=True, **fields)
    if reason is None:
        assert jobs.judge(status, max_failed) is status
        return
    with pytest.raises(JobFailed) as info:
        jobs.judge(status, max_failed)
    assert info.value.reason == reason and words in str(info.value)
    assert info.value.operation is status and OPERATION in str(info.value)


def test_judge_and_failure_messages() -> None:
    samples = [{"resource": f"gs://b/f{i}", "error": {"code": 3, "message": f"bad file {i}"}} for i in range(8)]
    failed = snapshot(done=True, error={
        "code": 3, "message": "8 files failed", "details": [{"@type": "x", "sampleErrors": samples}]},
        method=IMPORT_METHOD, logs_url="https://logs/x", success=2, failure=8)
    with pytest.raises(JobFailed) as info:
        jobs.judge(failed, 0)
    text = str(info.value)
    assert info.value.reason == "too_many_failures" and info.value.operation is failed
    assert "INVALID_ARGUMENT" in text and "8 files failed" in text and "https://logs/x" in text
    assert "success=2 failure=8" in text and "gs://b/f4" in text and "gs://b/f5" not in text
    assert failed.name in text
    assert jobs.judge(failed, 8) is failed  # tolerated
    cancelled = snapshot(done=True, error=(1, "cancelled"), method=IMPORT_METHOD,
                         create_time="2024-01-01T00:00:00Z", logs_url="https://console/logs", success=12, pending=3)
    with pytest.raises(JobFailed) as info:
        jobs.judge(cancelled, 100)
    assert info.value.reason == "cancelled"
    denied = snapshot(done=True, error=(7, "service-123@gcp-sa-healthcare.iam.gserviceaccount.com lacks "
                                           "roles/storage.objectViewer on gs://b"))
    with pytest.raises(JobFailed) as info:
        jobs.judge(denied, 0)
    assert info.value.reason == "operation_error"
    assert "PERMISSION_DENIED" in str(info.value)
    assert "grant roles/storage.objectViewer" in str(info.value)
    assert "pulumi_dicom_jobs.gcp.grants.import_source_grants" in str(info.value)
    with pytest.raises(ValueError):
        JobFailed("nonsense", "x")


def test_an_import_that_counted_nothing_without_an_error_succeeds() -> None:
    """The API ignores an instance already in the store and does not say whether it counts it:
    zero of everything, no error, is then a re-run over stored data as well as a pattern that
    selected nothing. The verdict fails only for what the API reported (docs/lifecycle.md)."""
    empty = snapshot(done=True, response={"@type": "x"}, method=IMPORT_METHOD)
    assert jobs.judge(empty, 0, JobTargets.of_request(JobKind.IMPORT, IMPORT_BODY)) is empty
    assert jobs.judge(empty, 0) is empty


@pytest.mark.parametrize("fields, reason", [
    (dict(error=(7, DENIED)), "operation_error"),
    (dict(failure=2, error=(7, DENIED)), "too_many_failures"),
])
def test_a_denial_names_the_role_and_where_when_the_targets_are_known(fields: dict, reason: str) -> None:
    status = _status(done=True, **fields)
    with pytest.raises(JobFailed) as info:
        jobs.judge(status, 0, JobTargets.of_request(JobKind.IMPORT, IMPORT_BODY))
    assert info.value.reason == reason
    assert "roles/storage.objectViewer on bucket b" in str(info.value)


# -- the short polls and the cancel --------------------------------------------------
def test_a_brief_poll_grows_its_pauses_until_settled(clock, monkeypatch) -> None:
    answers = iter(range(1, 10))
    client = HealthcareClient("https://x.example", sleep=clock.sleep)  # sends nothing
    assert operations.poll_briefly(client, 60.0, lambda: next(answers), lambda n: n == 4) == 4
    assert clock.sleeps == [0.2, 0.4, 0.8]  # SETTLE_BACKOFF, un-jittered


def test_cancel_posts_to_the_operation_and_names_it_when_unknown(clock, monkeypatch) -> None:
    gone = (404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "no such operation"}})
    with ScriptedApi({("POST", r"/operations/9:cancel$"): [(200, {}), gone]}) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        jobs.cancel_operation(client, OPERATION)
        with pytest.raises(OperationNotFound) as info:
            jobs.cancel_operation(client, OPERATION)
        assert [c.path for c in api.calls] == [f"/v1/{OPERATION}:cancel"] * 2
    assert info.value.name == OPERATION and OPERATION in str(info.value)


# -- run_job: pass-through, interruption, the permission restart ---------------------
def _job_api(operations: list[dict], clock: FakeClock, posted_at: list[float],
             extra: Optional[dict] = None) -> ScriptedApi:
    """The in-flight listing (empty), a start returning ``operations/1``, ``/2``...
    in turn, each GET answering that start's operation (the last one repeats)."""
    started = itertools.count(1)

    def start(_call) -> tuple[int, dict]:
        posted_at.append(clock.now)
        return 200, {"name": f"{DATASET}/operations/{next(started)}"}

    def get(call) -> tuple[int, dict]:
        number = int(call.path.rsplit("/", 1)[1])
        return 200, operations[min(number, len(operations)) - 1]

    return ScriptedApi({("GET", r"/datasets/d/operations$"): (200, {"operations": []}),
                        ("POST", r"/dicomStores/s:import$"): start,
                        **(extra or {}),
                        ("GET", r"/operations/\d+$"): get})


def _denied(number: int, **counters: int) -> dict:
    return _op(f"{DATASET}/operations/{number}", done=True, error=(7, DENIED), **counters)


def test_run_job_passes_its_callbacks_and_tolerance_to_the_wait(clock, monkeypatch) -> None:
    started: list[str] = []
    seen: list[OperationStatus] = []
    first = f"{DATASET}/operations/1"
    answers = [(200, _op(first, done=False, success=1, pending=2)),
               (200, _op(first, done=True, success=2, failure=1, error=(3, "1 failed")))]
    with ScriptedApi({("GET", r"/datasets/d/operations$"): (200, {"operations": []}),
                      ("POST", r"/dicomStores/s:import$"): (200, {"name": first}),
                      ("GET", r"/operations/1$"): answers}) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        status = jobs.run_job(client, JobKind.IMPORT, STORE, IMPORT_BODY, max_failed_instances=1,
                              on_started=started.append, on_progress=seen.append)
    assert status.failure == 1 and started == [first]
    assert [(s.success, s.done) for s in seen] == [(1, False), (2, True)]


def test_run_job_passes_the_targets_to_the_verdict(clock, monkeypatch) -> None:
    posted_at: list[float] = []
    with _job_api([_denied(1)], clock, posted_at) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, STORE, IMPORT_BODY, permission_retry_seconds=0)
    assert posted_at == [0.0]
    assert "roles/storage.objectViewer on bucket b" in str(info.value)


def test_a_run_interrupted_before_its_start_starts_nothing(clock, monkeypatch) -> None:
    token = CancelToken()
    token.cancel()
    posted_at: list[float] = []
    with _job_api([_op(done=True, success=1)], clock, posted_at) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, STORE, IMPORT_BODY, cancel=token)
        assert not api.calls
    assert info.value.reason == "interrupted"
    assert str(info.value) == "did not start the DICOM import job: interrupted"


@pytest.mark.parametrize("cancel_on_interrupt, cancels", [(None, True), (True, True), (False, False)])
def test_a_run_interrupted_while_waiting_cancels_by_default(clock, monkeypatch, cancel_on_interrupt,
                                                            cancels: bool) -> None:
    token = CancelToken()
    posted_at: list[float] = []
    first = f"{DATASET}/operations/1"
    routes = _until_cancelled(first, [_op(first, done=False, success=5, pending=5)],
                              _op(first, done=True, success=6, error=(1, "cancelled")))
    with _job_api([], clock, posted_at, routes) as api, scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        more = {} if cancel_on_interrupt is None else {"cancel_on_interrupt": cancel_on_interrupt}
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, STORE, IMPORT_BODY, cancel=token,
                         on_started=lambda name: token.cancel(), **more)
        assert bool(api.calls_to("POST", ":cancel$")) is cancels
    assert info.value.reason == "interrupted" and posted_at == [0.0]


class _ClockedToken(CancelToken):
    """A CancelToken whose pauses pass on the fake clock (a set token does not pause)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        if not self.cancelled:
            self.slept.append(seconds)
            self.clock.advance(seconds)


def test_a_run_interrupted_between_starts_names_the_earlier_attempts(clock, monkeypatch,
                                                                     pinned_jitter) -> None:
    """The pause before a restart is the token's (cut short once it is set), and
    the interruption names every operation started so far."""
    token = _ClockedToken(clock)
    answers = itertools.count(1)
    posted_at: list[float] = []

    def on_progress(_status: OperationStatus) -> None:
        if next(answers) == 2:
            token.cancel()

    with _job_api([_denied(1), _denied(2)], clock, posted_at) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, STORE, IMPORT_BODY, cancel=token, on_progress=on_progress)
    assert posted_at == [0.0, 2.0] and token.slept == [2.0] and clock.sleeps == []
    assert info.value.reason == "interrupted"
    assert str(info.value) == (f"did not start the DICOM import job: interrupted "
                               f"(earlier attempts: {DATASET}/operations/1, {DATASET}/operations/2)")


def test_the_permission_window_is_measured_from_the_first_start(clock, monkeypatch, pinned_jitter) -> None:
    """Pauses 2, 4, then cut to what is left of the window: the last start comes at
    its end. The failure keeps the last operation and lists every start."""
    clock.now = 1000.0  # the window is a span, not a time on the clock
    posted_at: list[float] = []
    denials = [_denied(n) for n in (1, 2, 3, 4)]
    with _job_api(denials, clock, posted_at) as api, scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, STORE, IMPORT_BODY, permission_retry_seconds=6.25)
    assert posted_at == [1000.0, 1002.0, 1006.0, 1006.25]
    assert info.value.reason == "operation_error"
    assert info.value.operation is not None and info.value.operation.name == f"{DATASET}/operations/4"
    assert info.value.operation.error_code == 7
    message = str(info.value)
    assert message.startswith("the DICOM import job failed") and DENIED in message
    names = ", ".join(f"{DATASET}/operations/{n}" for n in (1, 2, 3, 4))
    assert message.endswith(f"(started 4 times over 6s while waiting for IAM grants to propagate: {names})")


def test_two_starts_are_listed_too(clock, monkeypatch, pinned_jitter) -> None:
    posted_at: list[float] = []
    with _job_api([_denied(1), _denied(2)], clock, posted_at) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, STORE, IMPORT_BODY, permission_retry_seconds=1)
    assert posted_at == [0.0, 1.0]
    assert f"(started 2 times over 1s while waiting for IAM grants to propagate: {DATASET}/operations/1, " \
           f"{DATASET}/operations/2)" in str(info.value)


def test_a_denial_with_failed_instances_and_no_success_is_restarted(clock, monkeypatch,
                                                                    pinned_jitter) -> None:
    """Nothing succeeded: failed instances do not make it a half-finished job."""
    posted_at: list[float] = []
    with _job_api([_denied(1, failure=3), _denied(2, failure=3)], clock, posted_at) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, STORE, IMPORT_BODY, permission_retry_seconds=3)
    assert info.value.reason == "too_many_failures" and posted_at == [0.0, 2.0, 3.0]


@pytest.mark.parametrize("timeout_seconds, starts", [(2.0, 1), (2.01, 2)])
def test_no_restart_whose_pause_would_reach_the_deadline(clock, monkeypatch, pinned_jitter,
                                                         timeout_seconds: float, starts: int) -> None:
    """The first pause is 2 s: a budget of 2 s leaves no time to start again."""
    posted_at: list[float] = []
    with _job_api([_denied(1), _denied(2)], clock, posted_at) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, STORE, IMPORT_BODY, timeout_seconds=timeout_seconds)
    assert len(posted_at) == starts and info.value.reason == "operation_error"


def test_timeout_seconds_bounds_the_whole_run(clock, monkeypatch, pinned_jitter) -> None:
    """After a restart at 2 s the second operation runs on: the run times out at
    2.5 s, the budget it names, not the 0.5 s its second wait had left."""
    second = f"{DATASET}/operations/2"
    posted_at: list[float] = []
    extra = _until_cancelled(second, [_op(second, done=False, success=5, pending=5)],
                             _op(second, done=True, success=6, error=(1, "cancelled")))
    with _job_api([_denied(1)], clock, posted_at, extra) as api, \
            scripted_client(api, monkeypatch, clock, retry=RETRY) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, STORE, IMPORT_BODY, timeout_seconds=2.5)
        assert len(api.calls_to("POST", r"/operations/2:cancel$")) == 1
    assert posted_at == [0.0, 2.0] and clock.now == 2.5
    assert info.value.reason == "timeout" and "timeout_seconds=2.5;" in str(info.value)
    assert second in str(info.value)
