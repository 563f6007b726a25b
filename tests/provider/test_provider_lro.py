"""pulumi_dicom_jobs.lro: the one backoff, the rate arithmetic and the one waiter (on a fake clock)."""

from __future__ import annotations

import pytest

from pulumi_dicom_jobs.lro import Backoff, Waiter
from pulumi_dicom_jobs.lro.backoff import jittered
from pulumi_dicom_jobs.lro.rate import eta_seconds, rate_between
from pulumi_dicom_jobs.lro.waiter import growing_pauses


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
