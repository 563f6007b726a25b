"""The cancellation hook of the waiter (pulumi_dicom_jobs.lro): a CancelToken ends a wait promptly.
The job layer's use of it against the emulator: tests/jobs/test_jobs_emulator.py."""

from __future__ import annotations

import threading

from support.clock import FakeClock
from pulumi_dicom_jobs.lro.cancel import CancelToken
from pulumi_dicom_jobs.lro.waiter import Waiter


def test_a_cancelled_token_ends_the_wait_after_the_current_answer() -> None:
    token = CancelToken()
    answers = iter(range(100))

    def probe() -> int:
        value = next(answers)
        if value == 2:
            token.cancel()
        return value

    outcome = Waiter(3600, lambda _a, _n: 0.0, cancel=token).run(probe, lambda _v: False)
    assert outcome.cancelled and not outcome.done and outcome.last == 2


def test_cancel_interrupts_a_long_sleep() -> None:
    """A cancel during a 600 s pause ends the wait long before the pause would
    (the join's deadline is a twentieth of it): the pause is the token's, not a plain sleep."""
    token = CancelToken()
    pausing = threading.Event()

    def next_delay(_answer: object, _now: float) -> float:
        pausing.set()
        return 600.0

    outcomes: list = []
    waiting = threading.Thread(target=lambda: outcomes.append(
        Waiter(3600, next_delay, cancel=token).run(lambda: 1, lambda _v: False)))
    waiting.start()
    assert pausing.wait(timeout=30), "the waiter never reached its pause"
    token.cancel()
    waiting.join(timeout=30)
    assert not waiting.is_alive(), "the cancel did not cut the 600 s pause short"
    assert outcomes[0].cancelled and not outcomes[0].done


def test_done_wins_over_cancel_and_no_token_means_no_cancel() -> None:
    token = CancelToken()
    token.cancel()
    assert Waiter(10, lambda _a, _n: 0.0, cancel=token).run(lambda: 1, lambda _v: True).done
    clock = FakeClock()
    outcome = Waiter(20, lambda _a, _n: 5.0, clock=clock, sleep=clock.sleep).run(lambda: 1, lambda _v: False)
    assert not outcome.done and not outcome.cancelled
