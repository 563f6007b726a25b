"""The cancellation hook of the waiter (pulumi_dicom_jobs.lro): a CancelToken ends a wait promptly.
The job layer's use of it against the emulator: tests/jobs/test_jobs_emulator.py."""

from __future__ import annotations

import threading
import time

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
    token = CancelToken()
    threading.Timer(0.2, token.cancel).start()
    started = time.monotonic()
    outcome = Waiter(3600, lambda _a, _n: 600.0, cancel=token).run(lambda: 1, lambda _v: False)
    assert outcome.cancelled and time.monotonic() - started < 5


def test_done_wins_over_cancel_and_no_token_means_no_cancel() -> None:
    token = CancelToken()
    token.cancel()
    assert Waiter(10, lambda _a, _n: 0.0, cancel=token).run(lambda: 1, lambda _v: True).done
    clock = FakeClock()
    outcome = Waiter(20, lambda _a, _n: 5.0, clock=clock, sleep=clock.sleep).run(lambda: 1, lambda _v: False)
    assert not outcome.done and not outcome.cancelled
