"""What a job wait does when it stops before the operation ends: a timeout or
an interrupt (Ctrl-C, the engine's Cancel). On a scripted loopback API
(support.scripted) and a fake clock (support.clock), so the settle periods
(10 s after a timeout's cancel, 3 s after an interrupt's) take no wall clock.

The documented rules (jobs.wait, jobs.stopping.interrupt_failure, docs/lifecycle.md,
docs/cli.md "Ctrl-C"):

* on timeout the operation is cancelled, unless ``cancel_on_timeout`` is
  false (``dicom-jobs wait``), and JobFailed("timeout") names it, the budget
  and what was done to it; a cancelled job's message ends with what stays (an
  import's instances stay in the store, an export's in its destination);
* on an interrupt the operation is cancelled unless ``cancel_on_interrupt``
  is false, and JobFailed("interrupted") names it, what was done to it and
  what the next run will do: start again once the operation is cancelled,
  not start a second one while it runs (left running, or the cancel failed);
* after the cancel, the operation is polled until it ends, for at most 10 s
  after a timeout and 3 s after an interrupt (the user is waiting), and the
  message shows that latest snapshot's counters.
"""

from __future__ import annotations

from typing import Any, Optional

import pytest

from support.clock import FakeClock
from support.operations import DATASET, OPERATION, operation
from support.scripted import ScriptedApi, scripted_client
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.jobs import stopping
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.cancel import CancelToken

NEVER = float("inf")
CANCEL_BROKE = (500, {"error": {"code": 500, "status": "INTERNAL", "message": "cancel broke"}})
FORGOTTEN = (404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "no such operation"}})


class _Operation:
    """One operation on the scripted API: running (12 done, 88 pending) until
    cancelled, then done CANCELLED ``stops_after`` seconds after the cancel
    (never: still running with its cancel requested). Records when it was
    polled and cancelled, on the fake clock."""

    def __init__(self, clock: FakeClock, kind: JobKind = JobKind.IMPORT, stops_after: float = 0.0,
                 cancel_answer: Optional[tuple] = None, polls_fail: bool = False) -> None:
        self.clock, self.kind, self.stops_after = clock, kind, stops_after
        self.cancel_answer, self.polls_fail = cancel_answer, polls_fail
        self.polled_at: list[float] = []
        self.cancelled_at: list[float] = []

    def _get(self, _call) -> tuple:
        self.polled_at.append(self.clock.now)
        if self.polls_fail:
            return 500, {"error": {"code": 500, "status": "INTERNAL", "message": "poll broke"}}
        fields: dict[str, Any] = {"method": self.kind.api_method_name("v1"),
                                  "create_time": "2026-01-01T00:00:00Z"}
        if not self.cancelled_at:
            return 200, operation(OPERATION, success=12, pending=88, **fields)
        if self.clock.now - self.cancelled_at[0] < self.stops_after:
            return 200, operation(OPERATION, success=12, pending=88, cancel_requested=True, **fields)
        return 200, operation(OPERATION, done=True, success=12, failure=3, cancel_requested=True,
                              error=(1, "Operation was cancelled"), **fields)

    def _cancel(self, _call) -> tuple:
        if self.cancel_answer is not None:
            return self.cancel_answer
        self.cancelled_at.append(self.clock.now)
        return 200, {}

    def api(self) -> ScriptedApi:
        return ScriptedApi({("GET", r"/operations/9$"): self._get,
                            ("POST", r"/operations/9:cancel$"): self._cancel})

    def settled_for(self) -> float:
        """How long it was polled after the cancel."""
        return self.polled_at[-1] - self.cancelled_at[0]


def _timeout(op: _Operation, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> tuple[JobFailed, list]:
    """Wait 60 s for ``op``; the failure and the cancel requests sent."""
    with op.api() as api, scripted_client(api, monkeypatch, op.clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, OPERATION, timeout_seconds=60, **kwargs)
        assert op.polled_at and op.polled_at[0] == 0.0
        return info.value, api.calls_to("POST", r"/operations/9:cancel$")


def _interrupt(op: _Operation, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> tuple[JobFailed, list]:
    """Wait for ``op`` and press Ctrl-C at its first answer; the failure and the cancel requests."""
    token = CancelToken()
    with op.api() as api, scripted_client(api, monkeypatch, op.clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, OPERATION, timeout_seconds=3600, cancel=token,
                      on_progress=lambda _status: token.cancel(), **kwargs)
        return info.value, api.calls_to("POST", r"/operations/9:cancel$")


# -- timeout -------------------------------------------------------------------------
WHAT_STAYS = {
    JobKind.IMPORT: "A cancel does not roll back: the 12 instance(s) imported before the cancel stay "
                    "in the store.",
    JobKind.EXPORT_GCS: "A cancel does not roll back: the 12 instance(s) exported before the cancel stay "
                        "written in the destination.",
    JobKind.EXPORT_BIGQUERY: "A cancel does not roll back: the rows of the 12 instance(s) exported before "
                             "the cancel stay in the table.",
}


@pytest.mark.parametrize("kind", list(WHAT_STAYS))
def test_a_timeout_cancels_the_operation_and_says_what_stays(clock, monkeypatch, kind: JobKind) -> None:
    """The operation ends at once after the cancel: polled once more, no further wait."""
    op = _Operation(clock, kind)
    failure, cancels = _timeout(op, monkeypatch)
    assert len(cancels) == 1 and op.cancelled_at == [60.0]
    assert op.settled_for() == 0.0, "kept polling an operation that had ended"
    lines = str(failure).split("\n")
    assert failure.reason == "timeout"
    assert lines[0] == f"the DICOM job did not finish within timeout_seconds=60; operation {OPERATION} cancelled"
    assert "counters: success=12 failure=3 pending=0" in lines  # the snapshot after the cancel
    assert lines[-1] == WHAT_STAYS[kind]
    assert failure.operation is not None and failure.operation.done and failure.operation.failure == 3


def test_a_timeout_waits_10s_for_the_cancelled_operation_to_end(clock, monkeypatch) -> None:
    op = _Operation(clock, stops_after=NEVER)
    failure, cancels = _timeout(op, monkeypatch)
    assert len(cancels) == 1 and op.settled_for() == stopping._CANCEL_SETTLE_S == 10.0
    lines = str(failure).split("\n")
    assert lines[0] == (f"the DICOM job did not finish within timeout_seconds=60; operation {OPERATION} "
                        "cancel requested")
    assert "counters: success=12 failure=0 pending=88" in lines
    assert failure.operation.cancel_requested and not failure.operation.done
    assert lines[-1] == WHAT_STAYS[JobKind.IMPORT]


def test_a_timeout_settle_stops_when_the_operation_ends(clock, monkeypatch) -> None:
    op = _Operation(clock, stops_after=2.5)
    failure, _ = _timeout(op, monkeypatch)
    # polls 0.2, 0.6, 1.4, 3.0 s after the cancel: the first to see it ended is the last
    assert op.settled_for() == pytest.approx(3.0)
    assert str(failure).split("\n")[0].endswith(f"operation {OPERATION} cancelled")


def test_a_timeout_without_cancel_leaves_the_operation_running(clock, monkeypatch) -> None:
    """``dicom-jobs wait`` (docs/cli.md: leaves it running unless --cancel-on-timeout)."""
    op = _Operation(clock)
    failure, cancels = _timeout(op, monkeypatch, cancel_on_timeout=False)
    assert cancels == [] and op.polled_at[-1] == 60.0
    lines = str(failure).split("\n")
    assert failure.reason == "timeout"
    assert lines[0] == (f"the DICOM job did not finish within timeout_seconds=60; operation {OPERATION} "
                        "left running (cancel_on_timeout=False)")
    assert "counters: success=12 failure=0 pending=88" in lines
    assert not any(line.startswith("A cancel does not roll back") for line in lines)
    assert failure.operation is not None and not failure.operation.done


@pytest.mark.parametrize("answer, said", [(CANCEL_BROKE, "cancel broke"),
                                          (FORGOTTEN, f"operation {OPERATION} is not known to the API (404)")])
def test_a_timeout_whose_cancel_fails_says_it_may_still_run(clock, monkeypatch, answer, said: str) -> None:
    op = _Operation(clock, cancel_answer=answer)
    failure, cancels = _timeout(op, monkeypatch)
    assert len(cancels) == 1 and op.polled_at[-1] == 60.0  # nothing to settle
    first, *rest = str(failure).split("\n")
    assert failure.reason == "timeout"
    assert first.startswith(f"the DICOM job did not finish within timeout_seconds=60; operation {OPERATION} "
                            "cancel failed (")
    assert said in first and first.endswith("); it may still be running")
    assert "counters: success=12 failure=0 pending=88" in rest  # the last snapshot before the cancel
    assert failure.operation is not None and failure.operation.success == 12


@pytest.mark.parametrize("cancel", [True, False])
def test_a_timeout_with_no_answer_at_all_names_the_operation(clock, monkeypatch, cancel: bool) -> None:
    """Every poll failed: no snapshot, so no counters; the operation is still named."""
    op = _Operation(clock, polls_fail=True, cancel_answer=None if not cancel else CANCEL_BROKE)
    failure, cancels = _timeout(op, monkeypatch, cancel_on_timeout=cancel)
    assert len(cancels) == int(cancel)
    assert failure.reason == "timeout" and failure.operation is None
    text = str(failure)
    assert text.startswith(f"the DICOM job did not finish within timeout_seconds=60; operation {OPERATION} ")
    assert ("cancel failed" in text) == cancel and ("left running" in text) == (not cancel)
    assert "counters" not in text


def test_a_timeout_names_the_whole_runs_budget(clock, monkeypatch) -> None:
    """run_job reports the budget it was given, not the time left for the last wait."""
    op = _Operation(clock)
    with ScriptedApi({("GET", r"/datasets/d/operations$"): (200, {"operations": []}),
                      ("POST", r"/dicomStores/s:import$"): (200, {"name": OPERATION}),
                      ("GET", r"/operations/9$"): op._get,
                      ("POST", r"/operations/9:cancel$"): op._cancel}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, f"{DATASET}/dicomStores/s",
                         {"gcsSource": {"uri": "gs://b/**.dcm"}}, timeout_seconds=90.5)
    assert str(info.value).startswith(
        f"the DICOM job did not finish within timeout_seconds=90.5; operation {OPERATION} cancelled")


# -- interrupt -----------------------------------------------------------------------
def test_an_interrupt_cancels_the_operation_and_the_next_run_starts_again(clock, monkeypatch) -> None:
    op = _Operation(clock)
    failure, cancels = _interrupt(op, monkeypatch)
    assert len(cancels) == 1 and op.settled_for() == 0.0
    lines = str(failure).split("\n")
    assert failure.reason == "interrupted"
    assert lines[0] == (f"stopped waiting for the DICOM job: interrupted; operation {OPERATION} cancelled; "
                        "the next run starts the job again (a new operation)")
    assert "counters: success=12 failure=3 pending=0" in lines  # the snapshot after the cancel
    assert failure.operation is not None and failure.operation.done


def test_an_interrupt_waits_only_3s_for_the_cancelled_operation_to_end(clock, monkeypatch) -> None:
    op = _Operation(clock, stops_after=NEVER)
    failure, cancels = _interrupt(op, monkeypatch)
    assert len(cancels) == 1 and op.settled_for() == stopping._INTERRUPT_SETTLE_S == 3.0
    assert str(failure).split("\n")[0] == (
        f"stopped waiting for the DICOM job: interrupted; operation {OPERATION} cancel requested; "
        "the next run starts the job again (a new operation) once the cancel has taken effect; "
        "until then it will not start a second one")
    assert "counters: success=12 failure=0 pending=88" in str(failure).split("\n")
    assert failure.operation.cancel_requested and not failure.operation.done


def test_an_interrupt_can_leave_the_operation_running(clock, monkeypatch) -> None:
    """``cancel_on_interrupt`` false (DICOM_JOBS_CANCEL_ON_INTERRUPT, the plugin's cancelOnInterrupt)."""
    op = _Operation(clock)
    failure, cancels = _interrupt(op, monkeypatch, cancel_on_interrupt=False)
    assert cancels == [] and op.polled_at == [0.0]
    lines = str(failure).split("\n")
    assert failure.reason == "interrupted"
    assert lines[0] == (f"stopped waiting for the DICOM job: interrupted; operation {OPERATION} left running "
                        "(cancel on interrupt is off); the next run will not start a second operation of the "
                        "same kind on its dataset while this one runs")
    assert "counters: success=12 failure=0 pending=88" in lines
    assert failure.operation is not None and failure.operation.success == 12


@pytest.mark.parametrize("answer, said", [(CANCEL_BROKE, "cancel broke"),
                                          (FORGOTTEN, f"operation {OPERATION} is not known to the API (404)")])
def test_an_interrupt_whose_cancel_fails_says_the_next_run_will_not_start_twice(
        clock, monkeypatch, answer, said: str) -> None:
    op = _Operation(clock, cancel_answer=answer)
    failure, cancels = _interrupt(op, monkeypatch)
    assert len(cancels) == 1 and op.polled_at == [0.0]
    first, *rest = str(failure).split("\n")
    assert failure.reason == "interrupted"
    assert first.startswith(f"stopped waiting for the DICOM job: interrupted; operation {OPERATION} "
                            "cancel failed (")
    assert said in first
    assert first.endswith("); it may still be running; the next run will not start a second operation "
                          "while this one runs")
    assert "counters: success=12 failure=0 pending=88" in rest  # the last snapshot before the cancel
    assert failure.operation is not None and failure.operation.success == 12


@pytest.mark.parametrize("cancel", [True, False])
def test_an_interrupt_before_any_answer_names_the_operation(clock, monkeypatch, cancel: bool) -> None:
    op = _Operation(clock, polls_fail=True, cancel_answer=CANCEL_BROKE)
    token = CancelToken()
    token.cancel()
    with op.api() as api, scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, OPERATION, timeout_seconds=3600, cancel=token, cancel_on_interrupt=cancel)
        assert len(api.calls_to("POST", r"/operations/9:cancel$")) == int(cancel)
    failure = info.value
    assert failure.reason == "interrupted" and failure.operation is None
    text = str(failure)
    assert text.startswith(f"stopped waiting for the DICOM job: interrupted; operation {OPERATION} ")
    assert ("cancel failed" in text) == cancel and ("left running" in text) == (not cancel)
    assert text.endswith("while this one runs") and "counters" not in text
