"""pulumi_dicom_jobs.lro.schedule.PollSchedule: when to poll next (its docstring): without
counters a timetable on the time waited, no worse than api-core's DEFAULT_POLLING on lag or
calls (api-core's own code on the fake clock); with counters a backoff capped by the time
waited, a rate trusted after progress steps, closing in on the end, no more polls than
api-core's default schedule; and its jitter. Every test but the jitter's and api-core's
comparison pins the jitter to zero."""

from __future__ import annotations

import random
import statistics
import types

import pytest

from support.clock import FakeClock
from support.operations import snapshot
from pulumi_dicom_jobs.lro import PollSchedule, Waiter, backoff
from pulumi_dicom_jobs.lro.status import OperationStatus


def _snap(success: int, pending: int) -> OperationStatus:
    """A running operation's snapshot with these counters."""
    return snapshot("n", success=success, pending=pending)


# -- backoff, rate and the end over whole waits, against api-core's schedule ---------------
def test_schedule_backs_off_without_progress_and_caps() -> None:
    schedule = PollSchedule(jitter=0.0)
    delays = [schedule.next_delay(_snap(0, 100), 100.0 * t) for t in range(12)]
    assert delays[0] == 1.5 and delays[1] == pytest.approx(2.4)
    assert all(b >= a for a, b in zip(delays, delays[1:])) and max(delays) == 60.0


def test_schedule_caps_early_delays_by_elapsed_time() -> None:
    schedule = PollSchedule(jitter=0.0)
    assert schedule.next_delay(_snap(0, 100), 0.0) == 1.5
    # backoff would say 2.4 s; only 1.6 s have passed since the first snapshot
    assert schedule.next_delay(_snap(0, 100), 1.6) == pytest.approx(1.6)
    assert schedule.next_delay(_snap(0, 100), 3.2) == pytest.approx(3.2)


def test_schedule_does_not_trust_a_rate_from_one_progress_step() -> None:
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_snap(0, 1000), 0.0)
    # one progress step (after a slow start-up): the rate is not trusted; the
    # pessimistic average (100 in 10 s -> 90 s left) only caps the backoff
    first = schedule.next_delay(_snap(100, 900), 10.0)
    assert schedule.rate(10.0, 100) is None
    assert first == pytest.approx(2.4)
    # second progress step: rate measured from the first one (200 items in 10 s)
    assert schedule.next_delay(_snap(300, 700), 20.0) == pytest.approx(21.0)  # 35 s left -> 0.6 of it


def test_schedule_closes_in_on_the_end() -> None:
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_snap(0, 100), 0.0)
    schedule.next_delay(_snap(10, 90), 1.0)
    # 10/s from the first progress: 80 pending -> 8 s left -> sleep 0.6 of it
    assert schedule.next_delay(_snap(20, 80), 2.0) == pytest.approx(4.8)
    # 4 s left: 2.4 s; 1 s left: 0.6 s
    assert schedule.next_delay(_snap(60, 40), 6.0) == pytest.approx(2.4)
    assert schedule.next_delay(_snap(90, 10), 9.0) == pytest.approx(0.6)
    # 0.5 s left, under two floors (0.04 x 9.5 s each): one step of a floor
    assert schedule.next_delay(_snap(95, 5), 9.5) == pytest.approx(0.04 * 9.5)
    # everything processed, not done yet: poll soon
    assert schedule.next_delay(_snap(100, 0), 10.0) <= 0.3


def test_schedule_endgame_step_is_at_most_one_floor() -> None:
    """Counters that trail the work must not stretch the last sleep past one floor."""
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_snap(0, 12), 0.0)
    schedule.next_delay(_snap(5, 7), 1.5)
    schedule.next_delay(_snap(9, 3), 2.5)
    # 4 items/s: 2 pending -> 0.5 s predicted; a hop to 0.6 s would be the old overshoot
    assert schedule.next_delay(_snap(10, 2), 2.75) == pytest.approx(0.3)
    # almost nothing predicted: still no faster than the minimum
    assert schedule.next_delay(_snap(11, 1), 3.05) == pytest.approx(0.3)


def test_schedule_polls_soon_once_everything_is_processed() -> None:
    """Finalizing starts over from the minimum, whatever the backoff before had grown to."""
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_snap(0, 12), 0.0)
    schedule.next_delay(_snap(4, 8), 1.5)  # one progress step: untrusted, backoff grows
    assert schedule.next_delay(_snap(12, 0), 3.0) == pytest.approx(0.3)
    assert schedule.next_delay(_snap(12, 0), 3.3) == pytest.approx(0.3 * 1.6)


def test_schedule_never_sleeps_more_than_a_fraction_of_the_remaining_time() -> None:
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_snap(0, 2000), 0.0)
    schedule.next_delay(_snap(100, 1900), 10.0)
    assert schedule.next_delay(_snap(200, 1800), 20.0) == 60.0  # 180 s left: capped
    for now in range(30, 200, 10):
        done = 10 * now
        if done >= 2000:
            break
        remaining = (2000 - done) / 10.0
        delay = schedule.next_delay(_snap(done, 2000 - done), float(now))
        floor = max(0.3, 0.04 * now)
        assert delay <= max(remaining * 0.6, floor) + 1e-9, (now, delay, remaining)


def _simulate(total: int, duration: float, startup: float = 0.0, trail: int = 0) -> tuple[int, float]:
    """Polls and lag of PollSchedule on a job with steady progress after ``startup``.

    ``trail``: the counters lag the work by that many items until ``done``,
    as the emulator's (and a batching service's) do.
    """
    schedule, now, polls = PollSchedule(jitter=0.0), 0.0, 0
    end = startup + duration
    while True:
        polls += 1
        if now >= end:
            return polls, now - end
        done_items = max(0, min(total, int(total * (now - startup) / duration)) - trail)
        now += schedule.next_delay(_snap(done_items, total - done_items), now)


def _api_core_polls(duration: float) -> int:
    core_polls, t, delay = 0, 0.0, 1.0
    while True:
        core_polls += 1
        if t >= duration:
            return core_polls
        t += delay / 2  # api-core sleeps uniform(0, delay): its mean
        delay = min(delay * 1.5, 20.0)


@pytest.mark.parametrize("trail", [0, 1, 2])
@pytest.mark.parametrize("total,duration,startup", [(12, 3.0, 0.5), (80, 20.0, 0.5), (360, 90.0, 0.5),
                                                     (36000, 3600.0, 2.0)])
def test_schedule_polls_no_more_than_api_core_and_ends_close(total: int, duration: float,
                                                             startup: float, trail: int) -> None:
    polls, lag = _simulate(total, duration, startup, trail)
    assert polls <= _api_core_polls(startup + duration), (polls, _api_core_polls(startup + duration))
    # within one floor of the end: 0.3 s, or 4% of the time waited
    assert lag <= max(0.3, 0.04 * (startup + duration)) + 1e-9, lag


def test_schedule_calls_fewer_than_api_core_for_a_long_job() -> None:
    """A 1-hour job at a steady rate: far fewer polls than api-core's 1 s x1.5 capped at 20 s."""
    polls, lag = _simulate(36000, 3600.0)
    assert polls < _api_core_polls(3600.0) / 2
    assert lag < 0.04 * 3600


# -- no counters: the timetable, against api-core's DEFAULT_POLLING ----------------------
@pytest.mark.parametrize("waited, delay", [
    (0.0, 1.5),      # the first gap: the backoff's initial, as before
    (10.0, 4.5),     # 1.5 s + 30 % of the time waited
    (31.0, 10.8),
    (32.0, 11.0),    # at most 11 s
    (5000.0, 11.0),
])
def test_schedule_without_counters_waits_a_third_of_the_time_waited_and_a_bit(waited: float, delay: float) -> None:
    schedule = PollSchedule(jitter=0.0)
    assert schedule.next_delay(_snap(0, 0), T0) == 1.5
    assert schedule.next_delay(_snap(0, 0), T0 + waited) == pytest.approx(delay)
    assert schedule.rate(T0 + waited, 0) is None


def test_schedule_treats_zero_counters_as_none_and_counters_that_show_up_as_before() -> None:
    """Counters of zero are omitted in proto3 JSON: "0" everywhere is no counter. A job whose
    counters appear after a silent first snapshot gets the backoff's first step, as before."""
    zeros = OperationStatus.from_json({"name": "n", "metadata": {"counter": {"success": "0", "pending": "0"}}})
    schedule = PollSchedule(jitter=0.0)
    assert schedule.next_delay(zeros, T0) == 1.5
    assert schedule.next_delay(zeros, T0 + 20.0) == pytest.approx(7.5)
    counted = PollSchedule(jitter=0.0)
    assert counted.next_delay(_snap(0, 0), T0) == 1.5
    assert counted.next_delay(_snap(2, 10), T0 + 1.5) == pytest.approx(1.5)  # capped by the time waited


def _ours_without_counters(ends: list[float], seed: int) -> tuple[float, float]:
    """Mean lag and mean polls of jobs.wait's schedule on jobs that report no counter and end
    at ``ends`` (seconds after the first poll): the Waiter on a fake clock, jitter seeded."""
    lags, polls = [], []
    uniform = random.Random(seed).uniform
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backoff.random, "uniform", uniform)
        for end in ends:
            clock, asked = FakeClock(T0), []
            schedule = PollSchedule()

            def probe() -> OperationStatus:
                asked.append(clock.now)
                return snapshot("n", done=clock.now >= T0 + end)

            Waiter(10 * end + 60, schedule.next_delay, clock=clock, sleep=clock.sleep).run(probe, lambda s: s.done)
            lags.append(asked[-1] - (T0 + end))
            polls.append(len(asked))
    return statistics.mean(lags), statistics.mean(polls)


def _api_core_without_counters(ends: list[float], seed: int) -> tuple[float, float]:
    """The same for google-api-core's own PollingFuture with DEFAULT_POLLING (its schedule:
    polls at once, then sleeps uniform in [0, d], d from 1 s x1.5 to 20 s), on a fake clock,
    its random draws seeded; no timeout (900 s would end the longest waits before the jobs)."""
    from google.api_core.future import polling
    from google.api_core.retry import retry_base, retry_unary

    lags, polls = [], []
    with pytest.MonkeyPatch.context() as patch:
        clock = FakeClock(T0)
        fake_time = types.SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep)
        patch.setattr(retry_unary, "time", fake_time)
        patch.setattr(retry_base, "time", fake_time)
        patch.setattr(retry_base, "random", random.Random(seed))
        for end in ends:
            started, asked = clock.now, []

            class Future(polling.PollingFuture):
                def done(self, retry=None) -> bool:
                    asked.append(clock.now)
                    return clock.now >= started + end

                def cancel(self) -> bool:
                    return False

                def cancelled(self) -> bool:
                    return False

            assert Future()._polling is polling.DEFAULT_POLLING
            Future().result(timeout=None)
            lags.append(asked[-1] - (started + end))
            polls.append(len(asked))
    return statistics.mean(lags), statistics.mean(polls)


@pytest.mark.parametrize("shortest, longest", [(2, 4), (4, 16), (16, 64), (64, 256), (256, 1024), (1024, 3600)])
def test_schedule_without_counters_is_no_worse_than_api_core_on_lag_or_calls(shortest: float,
                                                                            longest: float) -> None:
    """Jobs that report no counter, ending at 120 moments spread over each band of lengths:
    our mean lag and our mean number of polls are both at most api-core's (its random draws
    and our jitter seeded, so the figures are the same at every run)."""
    ends = [shortest * (longest / shortest) ** ((i + 0.5) / 120) for i in range(120)]
    our_lag, our_polls = _ours_without_counters(ends, seed=1)
    core_lag, core_polls = _api_core_without_counters(ends, seed=2)
    assert our_lag <= core_lag and our_polls <= core_polls, (our_lag, core_lag, our_polls, core_polls)


# -- the rules of its docstring, step by step ----------------------------------------
T0 = 1000.0  # a monotonic clock is far from zero: elapsed time is now - start, not now


def test_schedule_backoff_is_capped_by_the_time_since_the_first_snapshot() -> None:
    schedule = PollSchedule(jitter=0.0)
    assert schedule.next_delay(_snap(0, 100), T0) == 1.5
    assert schedule.next_delay(_snap(0, 100), T0 + 1.6) == pytest.approx(1.6)  # backoff says 2.4
    assert schedule.next_delay(_snap(0, 100), T0 + 10.0) == pytest.approx(1.5 * 1.6 ** 2)  # not capped


def test_schedule_first_snapshot_with_progress_gives_no_rate_yet() -> None:
    """No time has passed since the first snapshot: the backoff's first step, not a guess."""
    assert PollSchedule(jitter=0.0).next_delay(_snap(5, 95), T0) == 1.5


def _backed_off(total: int) -> PollSchedule:
    """Four polls without progress, the last at T0 + 6 s: the next backoff step is 1.5 x 1.6^4."""
    schedule = PollSchedule(jitter=0.0)
    for now, want in ((T0, 1.5), (T0 + 1.5, 1.5), (T0 + 3.0, 3.0), (T0 + 6.0, 6.0)):
        assert schedule.next_delay(_snap(0, total), now) == pytest.approx(want)
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
    assert schedule.next_delay(_snap(success, pending), T0 + 12.0) == pytest.approx(delay)
    assert schedule.rate(T0 + 12.0, success) is None  # one progress step: not trusted


def test_schedule_trusts_a_rate_after_trust_after_progress_steps() -> None:
    for trust_after, trusted_at in ((2, 2), (3, 3)):
        schedule = PollSchedule(jitter=0.0, trust_after=trust_after)
        schedule.next_delay(_snap(0, 1000), T0)
        for step in range(1, 4):
            schedule.next_delay(_snap(10 * step, 1000 - 10 * step), T0 + step)
            rate = schedule.rate(T0 + step + 1, 10 * step + 10)
            if step < trusted_at:
                assert rate is None, (trust_after, step)
            else:
                assert rate == pytest.approx(10.0), (trust_after, step)  # from the first progress


def _trusted(floor_after: float = 0.0) -> PollSchedule:
    """10 items/s from the first progress at T0 + 1 + ``floor_after`` (a later start-up makes the floor larger)."""
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_snap(0, 1000), T0)
    schedule.next_delay(_snap(10, 990), T0 + 1.0 + floor_after)
    return schedule


@pytest.mark.parametrize("pending, delay", [
    (5, 0.3),  # 0.5 s left, under two floors (0.3 s each): one floor
    (6, 0.6 * 0.6),  # 0.6 s left, exactly two floors: still halving
    (7, 0.6 * 0.7),
])
def test_schedule_endgame_starts_under_two_floors(pending: int, delay: float) -> None:
    schedule = _trusted()
    assert schedule.next_delay(_snap(20, pending), T0 + 2.0) == pytest.approx(delay)


@pytest.mark.parametrize("pending, delay", [
    (5, 0.5 + 0.1),  # 0.5 s left, floor 1 s: the predicted end and a margin
    (1, 0.3),  # 0.1 s left: the minimum
    (15, 1.0),  # 1.5 s left: at most one floor
])
def test_schedule_endgame_step_is_the_eta_and_a_margin_at_most_one_floor(pending: int, delay: float) -> None:
    schedule = _trusted(floor_after=23.0)  # now - start = 25 s: floor 0.04 x 25 = 1 s
    assert schedule.next_delay(_snap(20, pending), T0 + 25.0) == pytest.approx(delay)


def test_schedule_one_item_job_polls_soon_once_it_is_processed() -> None:
    schedule = PollSchedule(jitter=0.0)
    assert schedule.next_delay(_snap(0, 1), T0) == 1.5
    assert schedule.next_delay(_snap(1, 0), T0 + 1.5) == pytest.approx(0.3)


def test_schedule_backs_off_from_the_start_again_when_counters_go_back() -> None:
    """Fewer items processed than when the rate was measured: no rate any more, so the
    backoff again, from its first step (not from where it stood before the rate was trusted)."""
    schedule = _trusted()
    schedule.next_delay(_snap(20, 980), T0 + 2.0)  # a trusted rate
    assert schedule.next_delay(_snap(5, 995), T0 + 100.0) == pytest.approx(1.5)
    assert schedule.next_delay(_snap(5, 995), T0 + 200.0) == pytest.approx(2.4)


def test_schedule_follows_the_silent_timetable_when_counters_vanish() -> None:
    schedule = _trusted()
    schedule.next_delay(_snap(20, 980), T0 + 2.0)  # a trusted rate
    assert schedule.next_delay(_snap(0, 0), T0 + 10.0) == pytest.approx(1.5 + 0.3 * 10.0)
    assert schedule.next_delay(_snap(0, 0), T0 + 100.0) == pytest.approx(11.0)


# -- the jitter (every other test pins it to zero) ------------------------------------
@pytest.mark.parametrize("pick, factor", [(lambda low, high: high, 1.1), (lambda low, high: low, 0.9)])
def test_schedule_jitter_is_ten_percent_either_way(monkeypatch, pick, factor: float) -> None:
    """The default schedule spreads its backoff and its ETA hops by +-10 %."""
    monkeypatch.setattr(backoff.random, "uniform", pick)
    jittered, plain = PollSchedule(), PollSchedule(jitter=0.0)
    assert jittered.jitter == 0.1
    # backoff phase (counters, no progress), long after the start so the elapsed-time cap is not hit
    for now in (0.0, 100.0, 200.0):
        got, want = jittered.next_delay(_snap(0, 100), now), plain.next_delay(_snap(0, 100), now)
        if now:  # the first delay is capped by max(initial, elapsed) = initial
            assert got == pytest.approx(want * factor), now
    # no counters at all: the timetable is spread alike, from its first step
    jittered, plain = PollSchedule(), PollSchedule(jitter=0.0)
    for now in (0.0, 5.0, 100.0):
        assert jittered.next_delay(_snap(0, 0), now) == pytest.approx(plain.next_delay(_snap(0, 0), now) * factor)
    # trusted rate, far from the end: the ETA hop is jittered too
    jittered, plain = PollSchedule(), PollSchedule(jitter=0.0)
    for schedule in (jittered, plain):
        schedule.next_delay(_snap(0, 1000), 0.0)
        schedule.next_delay(_snap(10, 990), 1.0)
    assert jittered.next_delay(_snap(20, 980), 2.0) == pytest.approx(
        plain.next_delay(_snap(20, 980), 2.0) * factor)


def test_schedule_jitter_spreads_a_crowd() -> None:
    """With the real random source, 20 waiters do not all poll at the same moment."""
    def second_delay() -> float:
        schedule = PollSchedule()
        schedule.next_delay(_snap(0, 100), 0.0)
        return schedule.next_delay(_snap(0, 100), 100.0)  # 2.4 s, give or take 10 %

    delays = {second_delay() for _ in range(20)}
    assert len(delays) > 1 and all(2.4 * 0.9 <= d <= 2.4 * 1.1 for d in delays), delays
