"""pulumi_dicom_jobs.lro: the one backoff, the rate arithmetic, the one waiter (on the fake clock,
support.clock) and the operation snapshot. The poll schedule: test_lro_schedule.py."""

from __future__ import annotations

import pytest

from support.clock import FakeClock
from support.operations import IMPORT_METHOD, snapshot
from pulumi_dicom_jobs.lro import Backoff, CancelToken, OperationStatus, Waiter
from pulumi_dicom_jobs.lro.backoff import jittered
from pulumi_dicom_jobs.lro.rate import eta_seconds, rate_between
from pulumi_dicom_jobs.lro.status import counters_text
from pulumi_dicom_jobs.lro.waiter import WaitOutcome, growing_pauses, steady_pauses


# -- backoff -------------------------------------------------------------------
def test_backoff_grows_to_its_cap() -> None:
    backoff = Backoff(initial=0.5, multiplier=2.0, maximum=3.0)
    assert [backoff.ceiling(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_equal_jitter_stays_in_the_upper_half() -> None:
    seen: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        seen.append((low, high))
        return low

    assert Backoff(2.0, 2.0, 30.0, uniform=uniform).equal_jitter(2) == 4.0
    assert seen == [(4.0, 8.0)]
    for attempt in range(8):
        delay = Backoff(2.0, 2.0, 30.0).equal_jitter(attempt)
        ceiling = min(30.0, 2.0 * 2 ** attempt)
        assert ceiling / 2 <= delay <= ceiling


def test_backoff_spread_is_give_or_take_a_fraction() -> None:
    assert Backoff(1.5, 1.6, 60.0).spread(1, 0.0) == pytest.approx(2.4)
    assert Backoff(10.0, uniform=lambda low, high: high).spread(0, 0.1) == pytest.approx(11.0)
    assert jittered(5.0, 0.1, uniform=lambda low, high: low) == pytest.approx(4.5)
    assert jittered(5.0, 2.0, uniform=lambda low, high: low) == 0.0  # never negative


def test_growing_pauses_ignore_the_answers() -> None:
    pauses = growing_pauses(Backoff(0.2, 2.0, 2.0))
    assert [pauses(None, 0.0) for _ in range(6)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0, 2.0])


# -- rate -----------------------------------------------------------------------
def test_rate_and_eta() -> None:
    assert rate_between((0.0, 0), (10.0, 50)) == 5.0
    assert rate_between((10.0, 50), (10.0, 60)) is None  # no time between them
    assert rate_between((0.0, 50), (10.0, 50)) is None  # no progress between them
    assert eta_seconds(100, 5.0) == 20.0
    assert eta_seconds(0, None) == 0.0
    assert eta_seconds(3, None) is None


@pytest.mark.parametrize("first, last, rate", [
    ((0.0, 0), (2.0, 1), 0.5),  # one item is progress
    ((0.0, 5), (2.0, 5), None),  # none is not
    ((0.0, 5), (2.0, 4), None),  # a counter that went back is not
    ((3.0, 0), (2.0, 4), None),  # nor is time that went back
])
def test_rate_between_needs_time_and_progress(first, last, rate) -> None:
    assert rate_between(first, last) == rate


@pytest.mark.parametrize("pending, rate, eta", [
    (1, 2.0, 0.5),  # one item left still takes time
    (0, 2.0, 0.0), (-1, 2.0, 0.0),  # nothing pending: no wait, whatever the rate
    (5, 0.5, 10.0),  # a rate under one item per second is a rate
    (5, 0.0, None), (5, -1.0, None), (5, None, None),  # no rate: unknown
])
def test_eta_is_pending_over_rate(pending: int, rate, eta) -> None:
    assert eta_seconds(pending, rate) == eta


# -- the waiter -----------------------------------------------------------------
def test_waiter_polls_until_done_and_reports_each_answer() -> None:
    fake = FakeClock(100.0)
    answers = iter([1, 2, 3])
    seen: list[int] = []
    delays: list[tuple[object, float]] = []

    def next_delay(answer, now):
        delays.append((answer, now))
        return 5.0

    waiter = Waiter(60.0, next_delay, on_progress=seen.append, clock=fake.monotonic, sleep=fake.sleep)
    outcome = waiter.run(lambda: next(answers), lambda n: n == 3)
    assert outcome.done and outcome.last == 3
    assert seen == [1, 2, 3]
    assert delays == [(1, 100.0), (2, 105.0)] and fake.sleeps == [5.0, 5.0]


def test_waiter_stops_at_the_deadline_with_the_last_answer() -> None:
    fake = FakeClock(100.0)
    probes: list[float] = []

    def probe():
        probes.append(fake.now)
        return "running"

    waiter = Waiter(10.0, lambda answer, now: 4.0, clock=fake.monotonic, sleep=fake.sleep)
    outcome = waiter.run(probe, lambda answer: False)
    assert not outcome.done and outcome.last == "running"
    # never sleeps past the deadline, and the last probe comes at it
    assert probes == [100.0, 104.0, 108.0, 110.0] and fake.sleeps == [4.0, 4.0, 2.0]


def test_waiter_keeps_the_last_real_answer_when_probes_fail() -> None:
    fake = FakeClock(100.0)
    answers = iter(["first", None, None, None])
    seen_by_schedule: list[object] = []

    def next_delay(answer, now):
        seen_by_schedule.append(answer)
        return 3.0

    waiter = Waiter(6.0, next_delay, on_progress=lambda a: None, clock=fake.monotonic, sleep=fake.sleep)
    outcome = waiter.run(lambda: next(answers), lambda answer: False)
    assert outcome == type(outcome)("first", False)
    assert seen_by_schedule == ["first", None]  # a failed probe: the schedule is told so


def test_waiter_ignores_a_failing_progress_callback() -> None:
    fake = FakeClock(100.0)

    def broken(_answer):
        raise RuntimeError("display went away")

    waiter = Waiter(5.0, lambda answer, now: 1.0, on_progress=broken, clock=fake.monotonic, sleep=fake.sleep)
    assert waiter.run(lambda: "done", lambda answer: True).done


def test_waiter_with_no_time_probes_once() -> None:
    fake = FakeClock(100.0)
    calls: list[int] = []
    waiter = Waiter(-1.0, lambda answer, now: 1.0, clock=fake.monotonic, sleep=fake.sleep)
    outcome = waiter.run(lambda: calls.append(1) or "x", lambda answer: False)
    assert calls == [1] and not outcome.done and fake.sleeps == []


def test_waiter_never_sleeps_past_the_deadline_even_for_a_fraction_of_a_second() -> None:
    fake = FakeClock(100.0)
    probes: list[float] = []
    waiter = Waiter(8.5, lambda answer, now: 4.0, clock=fake.monotonic, sleep=fake.sleep)
    waiter.run(lambda: probes.append(fake.now) or "running", lambda answer: False)
    assert probes == [100.0, 104.0, 108.0, 108.5] and fake.sleeps == [4.0, 4.0, 0.5]


@pytest.mark.parametrize("probe_seconds, started, sleeps", [
    (4.0, [100.0, 108.0, 112.0], [4.0]),          # the second outlasts the deadline: one more, at once
    (12.0, [100.0, 112.0], []),                   # the first outlasts it all: one more, at once
    (3.0, [100.0, 107.0, 110.0], [4.0]),          # the second ends at the deadline: one more, at once
    (1.0, [100.0, 105.0, 110.0], [4.0, 4.0]),     # none does: the last starts at the deadline
])
def test_waiter_last_probe_starts_at_the_deadline_or_later(probe_seconds: float, started: list,
                                                           sleeps: list) -> None:
    """A probe asked before the deadline and answered after it is not the last: "nothing by
    the deadline" is only known from a probe that began at it (a slow listing, say)."""
    fake = FakeClock(100.0)
    probes: list[float] = []

    def probe():
        probes.append(fake.now)
        fake.advance(probe_seconds)
        return "running"

    waiter = Waiter(10.0, lambda answer, now: 4.0, clock=fake.monotonic, sleep=fake.sleep)
    outcome = waiter.run(probe, lambda answer: False)
    assert not outcome.done and probes == started and fake.sleeps == sleeps
    assert probes[-1] >= 110.0 and all(p < 110.0 for p in probes[:-1])


def test_steady_pauses_ignore_the_answers() -> None:
    pauses = steady_pauses(1.5)
    assert [pauses(answer, now) for answer, now in ((None, 0.0), ("x", 7.0), (None, 99.0))] == [1.5] * 3


def test_waiter_without_any_answer_ends_with_none() -> None:
    fake = FakeClock(100.0)
    waiter = Waiter(6.0, lambda answer, now: 3.0, clock=fake.monotonic, sleep=fake.sleep)
    outcome = waiter.run(lambda: None, lambda answer: True)
    assert outcome == WaitOutcome(None, False) and outcome.last is None and fake.sleeps == [3.0, 3.0]


@pytest.mark.parametrize("cancel_at, answers, probes", [
    ("probe", ["queued", "running"], 2),  # asked to stop while asking: after that answer
    ("probe", ["queued", None], 2),  # ... the answer lost: the last real one
    ("sleep", ["queued", "running"], 2),  # asked to stop while sleeping: at once
    ("sleep", ["queued", None], 2),
])
def test_a_cancelled_wait_ends_not_done_with_the_last_answer(cancel_at: str, answers: list, probes: int) -> None:
    """docs: ``cancel`` ends the wait early, not done and ``cancelled``; its sleep is interruptible."""
    fake, token = FakeClock(100.0), CancelToken()
    asked: list[object] = []

    def probe():
        assert len(asked) < len(answers), "probed after the wait was cancelled"
        asked.append(answers[len(asked)])
        if cancel_at == "probe" and len(asked) == probes:
            token.cancel()
        return asked[-1]

    def next_delay(answer, now):
        if cancel_at == "sleep" and len(asked) == probes:
            token.cancel()
            return 3600.0  # cut short by the cancel
        return 0.0  # the token's sleep is real time: no pause before the cancel

    waiter = Waiter(7200.0, next_delay, clock=fake.monotonic, sleep=fake.sleep, cancel=token)
    outcome = waiter.run(probe, lambda answer: False)
    assert outcome == WaitOutcome("running" if answers[-1] else "queued", False, cancelled=True)
    assert outcome.cancelled is True and outcome.done is False
    assert len(asked) == probes
    # the pauses were the token's (cut short by the cancel), never the plain sleep
    assert fake.sleeps == []


# -- the operation snapshot -----------------------------------------------------------
_NOTHING = dict(name="", done=False, success=0, failure=0, pending=0, api_method_name=None,
                create_time=None, end_time=None, logs_url=None, cancel_requested=False, error=None)


@pytest.mark.parametrize("raw, fields", [
    # every field absent (proto3 omits defaults): zeros, False, None
    ({}, {}),
    ({"metadata": None, "error": None}, {}),
    ({"metadata": {"counter": None}}, {}),
    # int64 counters as strings, beyond a float's precision
    ({"name": "op", "done": True, "metadata": {"counter": {"success": "9007199254740993", "failure": "2"}}},
     {"name": "op", "done": True, "success": 9007199254740993, "failure": 2}),
    # numbers, an exponent form, and values that are not numbers at all
    ({"metadata": {"counter": {"success": 5, "failure": "1e3", "pending": 7.0}}},
     {"success": 5, "failure": 1000, "pending": 7}),
    ({"metadata": {"counter": {"success": "many", "failure": "", "pending": {}}}}, {}),
    ({"metadata": {"counter": {"success": None, "failure": [], "pending": "NaN"}}}, {}),
    ({"metadata": {"counter": {"success": "Infinity", "failure": "-Infinity"}}}, {}),
    # the metadata the outputs show
    ({"metadata": {"apiMethodName": "m", "createTime": "c", "endTime": "e", "logsUrl": "l",
                   "cancelRequested": True}},
     {"api_method_name": "m", "create_time": "c", "end_time": "e", "logs_url": "l", "cancel_requested": True}),
    ({"metadata": {"cancelRequested": False}}, {}),
    # the error, only when it is an object
    ({"done": True, "error": {"code": 3, "message": "bad"}}, {"done": True, "error": {"code": 3, "message": "bad"}}),
    ({"error": "broken"}, {}),
])
def test_operation_snapshot_reads_proto3_json(raw: dict, fields: dict) -> None:
    status = OperationStatus.from_json(raw)
    expected = {**_NOTHING, **fields}
    assert {name: getattr(status, name) for name in expected} == expected
    assert status.raw == raw  # the whole answer is kept


def test_operation_parsing_int64_strings_and_omitted_zeros() -> None:
    status = snapshot(method=IMPORT_METHOD, create_time="2024-01-01T00:00:00Z", logs_url="https://console/logs",
                      success=12, pending=3)
    assert (status.success, status.failure, status.pending, status.done) == (12, 0, 3, False)
    assert status.logs_url == "https://console/logs" and status.error is None
    done = OperationStatus.from_json({"name": "n", "done": True})
    assert (done.success, done.failure, done.pending, done.api_method_name) == (0, 0, 0, None)


def test_an_operation_snapshot_keeps_what_the_outputs_show() -> None:
    status = OperationStatus.from_json({"name": "n", "done": True, "metadata": {
        "apiMethodName": "m", "createTime": "c", "endTime": "e", "cancelRequested": True,
        "counter": {"success": "3", "failure": "1", "pending": "0"}}})
    assert (status.api_method_name, status.create_time, status.end_time) == ("m", "c", "e")
    assert status.cancel_requested is True and (status.success, status.failure) == (3, 1)


def test_the_counts_and_their_one_text() -> None:
    """processed and total beside the counters; the text every message and progress line shows."""
    status = snapshot(success=12, failure=2, pending=3)
    assert (status.processed, status.total) == (14, 17)
    assert counters_text(status) == "success=12 failure=2 pending=3"
    assert counters_text(None) == "success=0 failure=0 pending=?"  # before the first snapshot
