"""One loop that polls until something is done or a deadline passes.

Why one object: the job wait (hours, its :class:`PollSchedule`), the short
settle after a lost start answer (is the operation listed yet?) and the
settle after a timeout's cancel (is it stopped yet?) are the same loop: ask,
report, stop when done or out of time, otherwise sleep as a schedule says
but never past the deadline. Like google-api-core's ``PollingFuture`` the
waiter takes its budget and its delays as data; unlike it, the delays may
depend on what the last answer said (the schedule estimates the end of a job
from its counters), and what happens at the deadline is the caller's call:
the waiter only says "not done, here is the last answer".

``clock`` and ``sleep`` are injectable, so the loop runs on a fake clock in
unit tests. A :class:`~pulumi_dicom_jobs.lro.cancel.CancelToken` stops the
loop early (Ctrl-C in ``pulumi up``): it is checked after every answer and
its :meth:`~pulumi_dicom_jobs.lro.cancel.CancelToken.sleep` replaces the
plain sleep, so a request to stop is seen within moments, not a poll delay.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Callable, Generic, Optional, TypeVar

from pulumi_dicom_jobs.lro.backoff import Backoff
from pulumi_dicom_jobs.lro.cancel import CancelToken

__all__ = ["Waiter", "WaitOutcome", "NextDelay", "growing_pauses", "steady_pauses"]

T = TypeVar("T")

#: ``(last answer or None when the probe got none, now) -> seconds to sleep``.
NextDelay = Callable[[Optional[T], float], float]


@dataclass(frozen=True)
class WaitOutcome(Generic[T]):
    """How a wait ended: ``done`` (the last answer is final), ``cancelled`` (asked to
    stop), or out of time (neither)."""

    last: Optional[T]
    done: bool
    cancelled: bool = False


def growing_pauses(backoff: Backoff) -> NextDelay:
    """Delays that grow along ``backoff`` (un-jittered), whatever the answers say."""
    attempts = itertools.count()
    return lambda _answer, _now: backoff.ceiling(next(attempts))


def steady_pauses(seconds: float) -> NextDelay:
    """The same pause every time, whatever the answers say (probes spread over a wait)."""
    return lambda _answer, _now: seconds


class Waiter(Generic[T]):
    """Probe until an answer is done or ``timeout_seconds`` pass.

    ``next_delay`` is the schedule (see :data:`NextDelay`). ``on_progress``
    sees every answer; an exception it raises is ignored (a display must not
    abort a job). The last probe *starts* at the deadline or later: pauses end
    at the deadline at the latest, and a probe asked before it but answered
    after it is followed by one more, at once (so "not done by the deadline"
    is always said by an answer asked at or after it, however slow a probe).
    ``cancel`` (optional) ends the wait early, not done and ``cancelled``;
    while it is given, the pauses are its interruptible sleep.
    """

    def __init__(self, timeout_seconds: float, next_delay: NextDelay, *,
                 on_progress: Optional[Callable[[T], None]] = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 cancel: Optional[CancelToken] = None) -> None:
        self.timeout_seconds = max(0.0, timeout_seconds)
        self.next_delay = next_delay
        self.on_progress = on_progress
        self.clock = clock
        self.sleep = sleep if cancel is None else cancel.sleep
        self.cancel = cancel

    def run(self, probe: Callable[[], Optional[T]], done: Callable[[T], bool]) -> WaitOutcome[T]:
        """Call ``probe`` (None: no answer this time) until ``done(answer)`` or the deadline."""
        deadline = self.clock() + self.timeout_seconds
        last: Optional[T] = None
        while True:
            asked = self.clock()
            answer = probe()
            if answer is not None:
                last = answer
                self._report(answer)
                if done(answer):
                    return WaitOutcome(answer, True)
            if self._cancelled():
                return WaitOutcome(last, False, cancelled=True)
            if asked >= deadline:
                return WaitOutcome(last, False)
            now = self.clock()
            if now < deadline:  # else the probe outlasted the deadline: the last one, at once
                self.sleep(min(self.next_delay(answer, now), deadline - now))
            if self._cancelled():
                return WaitOutcome(last, False, cancelled=True)

    def _cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    def _report(self, answer: T) -> None:
        if self.on_progress is None:
            return
        try:
            self.on_progress(answer)
        except Exception:  # a progress callback must not abort the wait
            pass
