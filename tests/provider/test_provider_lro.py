"""pulumi_dicom_jobs.lro: the one backoff, the rate arithmetic and the one waiter (on a fake clock)."""

from __future__ import annotations

import pytest

from pulumi_dicom_jobs.lro import Backoff, CancelToken, OperationStatus, PollSchedule, Waiter
from pulumi_dicom_jobs.lro.backoff import jittered
from pulumi_dicom_jobs.lro.rate import eta_seconds, rate_between
from pulumi_dicom_jobs.lro.waiter import WaitOutcome, growing_pauses


class FakeTime:
    """A monotonic clock that only ``sleep`` moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


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
    fake = FakeTime()
    answers = iter([1, 2, 3])
    seen: list[int] = []
    delays: list[tuple[object, float]] = []

    def next_delay(answer, now):
        delays.append((answer, now))
        return 5.0

    waiter = Waiter(60.0, next_delay, on_progress=seen.append, clock=fake.clock, sleep=fake.sleep)
    outcome = waiter.run(lambda: next(answers), lambda n: n == 3)
    assert outcome.done and outcome.last == 3
    assert seen == [1, 2, 3]
    assert delays == [(1, 100.0), (2, 105.0)] and fake.sleeps == [5.0, 5.0]


def test_waiter_stops_at_the_deadline_with_the_last_answer() -> None:
    fake = FakeTime()
    probes: list[float] = []

    def probe():
        probes.append(fake.now)
        return "running"

    waiter = Waiter(10.0, lambda answer, now: 4.0, clock=fake.clock, sleep=fake.sleep)
    outcome = waiter.run(probe, lambda answer: False)
    assert not outcome.done and outcome.last == "running"
    # never sleeps past the deadline, and the last probe comes at it
    assert probes == [100.0, 104.0, 108.0, 110.0] and fake.sleeps == [4.0, 4.0, 2.0]


def test_waiter_keeps_the_last_real_answer_when_probes_fail() -> None:
    fake = FakeTime()
    answers = iter(["first", None, None, None])
    seen_by_schedule: list[object] = []

    def next_delay(answer, now):
        seen_by_schedule.append(answer)
        return 3.0

    waiter = Waiter(6.0, next_delay, on_progress=lambda a: None, clock=fake.clock, sleep=fake.sleep)
    outcome = waiter.run(lambda: next(answers), lambda answer: False)
    assert outcome == type(outcome)("first", False)
    assert seen_by_schedule == ["first", None]  # a failed probe: the schedule is told so


def test_waiter_ignores_a_failing_progress_callback() -> None:
    fake = FakeTime()

    def broken(_answer):
        raise RuntimeError("display went away")

    waiter = Waiter(5.0, lambda answer, now: 1.0, on_progress=broken, clock=fake.clock, sleep=fake.sleep)
    assert waiter.run(lambda: "done", lambda answer: True).done


def test_waiter_with_no_time_probes_once() -> None:
    fake = FakeTime()
    calls: list[int] = []
    waiter = Waiter(-1.0, lambda answer, now: 1.0, clock=fake.clock, sleep=fake.sleep)
    outcome = waiter.run(lambda: calls.append(1) or "x", lambda answer: False)
    assert calls == [1] and not outcome.done and fake.sleeps == []


def test_waiter_never_sleeps_past_the_deadline_even_for_a_fraction_of_a_second() -> None:
    fake = FakeTime()
    probes: list[float] = []
    waiter = Waiter(8.5, lambda answer, now: 4.0, clock=fake.clock, sleep=fake.sleep)
    waiter.run(lambda: probes.append(fake.now) or "running", lambda answer: False)
    assert probes == [100.0, 104.0, 108.0, 108.5] and fake.sleeps == [4.0, 4.0, 0.5]


def test_waiter_without_any_answer_ends_with_none() -> None:
    fake = FakeTime()
    waiter = Waiter(6.0, lambda answer, now: 3.0, clock=fake.clock, sleep=fake.sleep)
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
    fake, token = FakeTime(), CancelToken()
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

    waiter = Waiter(7200.0, next_delay, clock=fake.clock, sleep=fake.sleep, cancel=token)
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


# -- the poll schedule (docstring of PollSchedule; jitter pinned to zero) ----------------
T0 = 1000.0  # a monotonic clock is far from zero: elapsed time is now - start, not now


def _op(success: int, pending: int) -> OperationStatus:
    return OperationStatus.from_json({"name": "n", "metadata": {
        "counter": {"success": str(success), "pending": str(pending)}}})


def test_schedule_backoff_is_capped_by_the_time_since_the_first_snapshot() -> None:
    schedule = PollSchedule(jitter=0.0)
    assert schedule.next_delay(_op(0, 0), T0) == 1.5
    assert schedule.next_delay(_op(0, 0), T0 + 1.6) == pytest.approx(1.6)  # backoff says 2.4
    assert schedule.next_delay(_op(0, 0), T0 + 10.0) == pytest.approx(1.5 * 1.6 ** 2)  # not capped


def test_schedule_first_snapshot_with_progress_gives_no_rate_yet() -> None:
    """No time has passed since the first snapshot: the backoff's first step, not a guess."""
    assert PollSchedule(jitter=0.0).next_delay(_op(5, 95), T0) == 1.5


def _backed_off(total: int) -> PollSchedule:
    """Four polls without progress, the last at T0 + 6 s: the next backoff step is 1.5 x 1.6^4."""
    schedule = PollSchedule(jitter=0.0)
    for now, want in ((T0, 1.5), (T0 + 1.5, 1.5), (T0 + 3.0, 3.0), (T0 + 6.0, 6.0)):
        assert schedule.next_delay(_op(0, total), now) == pytest.approx(want)
    return schedule


@pytest.mark.parametrize("success, pending, delay", [
    (1, 1, 0.6 * 12.0),  # 1 of 2 in 12 s: 12 s left by the average -> 0.6 of it
    (4, 2, 0.6 * 6.0),  # 4 in 12 s: 6 s left
    (100, 1, 0.3),  # almost done: not under the minimum
    (1, 100, 1.5 * 1.6 ** 4),  # far from done: the average may not lengthen the backoff
])
def test_schedule_untrusted_average_rate_only_shortens_the_backoff(success: int, pending: int,
                                                                   delay: float) -> None:
    schedule = _backed_off(success + pending)
    assert schedule.next_delay(_op(success, pending), T0 + 12.0) == pytest.approx(delay)
    assert schedule.rate(T0 + 12.0, success) is None  # one progress step: not trusted


def test_schedule_trusts_a_rate_after_trust_after_progress_steps() -> None:
    for trust_after, trusted_at in ((2, 2), (3, 3)):
        schedule = PollSchedule(jitter=0.0, trust_after=trust_after)
        schedule.next_delay(_op(0, 1000), T0)
        for step in range(1, 4):
            schedule.next_delay(_op(10 * step, 1000 - 10 * step), T0 + step)
            rate = schedule.rate(T0 + step + 1, 10 * step + 10)
            if step < trusted_at:
                assert rate is None, (trust_after, step)
            else:
                assert rate == pytest.approx(10.0), (trust_after, step)  # from the first progress


def _trusted(floor_after: float = 0.0) -> PollSchedule:
    """10 items/s from the first progress at T0 + 1 + ``floor_after`` (a later start-up makes the floor larger)."""
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_op(0, 1000), T0)
    schedule.next_delay(_op(10, 990), T0 + 1.0 + floor_after)
    return schedule


@pytest.mark.parametrize("pending, delay", [
    (5, 0.3),  # 0.5 s left, under two floors (0.3 s each): one floor
    (6, 0.6 * 0.6),  # 0.6 s left, exactly two floors: still halving
    (7, 0.6 * 0.7),
])
def test_schedule_endgame_starts_under_two_floors(pending: int, delay: float) -> None:
    schedule = _trusted()
    assert schedule.next_delay(_op(20, pending), T0 + 2.0) == pytest.approx(delay)


@pytest.mark.parametrize("pending, delay", [
    (5, 0.5 + 0.1),  # 0.5 s left, floor 1 s: the predicted end and a margin
    (1, 0.3),  # 0.1 s left: the minimum
    (15, 1.0),  # 1.5 s left: at most one floor
])
def test_schedule_endgame_step_is_the_eta_and_a_margin_at_most_one_floor(pending: int, delay: float) -> None:
    schedule = _trusted(floor_after=23.0)  # now - start = 25 s: floor 0.04 x 25 = 1 s
    assert schedule.next_delay(_op(20, pending), T0 + 25.0) == pytest.approx(delay)


def test_schedule_one_item_job_polls_soon_once_it_is_processed() -> None:
    schedule = PollSchedule(jitter=0.0)
    assert schedule.next_delay(_op(0, 1), T0) == 1.5
    assert schedule.next_delay(_op(1, 0), T0 + 1.5) == pytest.approx(0.3)


def test_schedule_backs_off_from_the_start_again_when_counters_vanish() -> None:
    schedule = _trusted()
    schedule.next_delay(_op(20, 980), T0 + 2.0)  # a trusted rate
    assert schedule.next_delay(_op(0, 0), T0 + 100.0) == pytest.approx(1.5)
    assert schedule.next_delay(_op(0, 0), T0 + 200.0) == pytest.approx(2.4)
