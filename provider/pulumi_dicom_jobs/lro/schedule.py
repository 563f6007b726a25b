"""Long-running operations: decide when to look again.

Why a custom waiter: a DICOM import can run for hours. A fixed exponential
backoff (google-api-core's ``PollingFuture`` starts at 1 s and grows by 1.5x
to a 20 s cap) keeps asking every 20 s for hours, and when a job ends just
after a poll the caller learns it up to 20 s late. The Healthcare API reports
progress (``metadata.counter{success,failure,pending}``), so the waiter here
estimates the rate and polls near the predicted end instead: few calls while
a long job runs, a short lag when it finishes. With no progress signal it
polls on a timetable that beats api-core's on lag and on calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from pulumi_dicom_jobs.lro.backoff import Backoff, jittered
from pulumi_dicom_jobs.lro.rate import eta_seconds, rate_between
from pulumi_dicom_jobs.lro.status import OperationStatus

__all__ = ["PollSchedule"]


@dataclass
class PollSchedule:
    """Decides the delay before the next ``operations.get``.

    * A rate is trusted only once :attr:`trust_after` snapshots have shown
      progress (processed count up). It is measured from the first of them,
      not from the start: an operation's start-up (listing the source,
      queueing) shows no progress and would make the rate look slow, and a
      rate from a single step is noise.
    * Rate trusted: the next poll comes after ``eta * eta_fraction`` (a
      little over half the estimated remaining time, at most ``maximum``), so
      polls close in on the end geometrically and a wrong estimate costs a
      poll, not seconds of lag. A job that slows down stretches its own ETA
      (the rate keeps being measured from the first progress).
    * The floor is ``minimum``, raised to ``floor_fraction`` of the time
      waited so far (a 90 s job does not need 0.3 s precision; api-core's
      interval is a third of the elapsed time). Once less than
      ``endgame_floors`` floors remain, the waiter stops halving and steps:
      ``eta + final_margin``, but never more than one floor. The cap matters
      because counters trail the work (the service publishes them after an
      item is settled, so the last items often land together with ``done``):
      a hop to just past the predicted end would overshoot by that trail,
      while a step of one floor bounds the lag by the floor whatever the
      counters say. Near the end of a short job that costs a poll or two at
      0.3 s; on long jobs the floor is seconds and the step is the one hop.
    * No counter at all (the operation reports none, or only zeros): nothing
      to estimate from, so the next poll comes ``initial`` plus
      ``silent_fraction`` of the time since the first snapshot later, at most
      ``silent_maximum`` (1.5 s + 30 %, capped at 11 s), with jitter. Why it
      beats api-core's ``DEFAULT_POLLING`` on lag *and* calls: a job ending
      at a random moment is seen, on average, E[gap^2] / (2 E[gap]) after its
      end. api-core draws each gap uniformly from [0, d] (full jitter): a lag
      of d/3 for a mean gap of d/2. Gaps that are (nearly) fixed lag by half
      of themselves, so gaps a third longer than api-core's mean give the
      same lag with fewer calls; these are about a fifth longer. Written on
      the time waited, the rule keeps no state, and its first gap is
      ``initial``: a job whose counters show up after a silent first
      snapshot is polled as before (see docs/guarantees.md for the figures).
    * No trusted rate yet (counters, but too little progress): exponential
      backoff from ``initial`` by ``multiplier`` up to ``maximum``, with
      jitter, and never longer than ``early_fraction`` times the time since
      the first snapshot (at least ``initial``): a short job is not overslept
      by a backoff step far longer than everything seen so far. Once some
      items are processed, the average rate since the first snapshot
      (start-up included, so pessimistic) may shorten that wait to
      ``eta_fraction`` of its ETA, never lengthen it.
    * Everything processed but not yet done: the operation is finalizing,
      so poll again soon (from ``minimum``, growing; whatever backoff the
      phase before had reached is dropped).

    Tuned with ``benchmarks/bench_waiter.py`` (results in ``benchmarks/results.md``).
    """

    initial: float = 1.5
    multiplier: float = 1.6
    maximum: float = 60.0
    minimum: float = 0.3
    eta_fraction: float = 0.6
    floor_fraction: float = 0.04
    final_margin: float = 0.1
    endgame_floors: float = 2.0
    early_fraction: float = 1.0
    trust_after: int = 2
    silent_fraction: float = 0.3
    silent_maximum: float = 11.0
    jitter: float = 0.1
    #: The backoff phase under way: (its first delay, retries since), or None.
    _growth: Optional[tuple[float, int]] = None
    _started: Optional[float] = None
    _anchor: Optional[tuple[float, int]] = None
    _last_processed: int = 0
    _progress_snapshots: int = 0
    _finalizing: bool = False

    def rate(self, now: float, processed: int) -> Optional[float]:
        """Items per second, once trusted; else None."""
        if self._anchor is None or self._progress_snapshots < self.trust_after:
            return None
        return rate_between(self._anchor, (now, processed))

    def next_delay(self, status: OperationStatus, now: float) -> float:
        if self._started is None:
            self._started = now
        processed = status.processed
        if status.total == 0:  # no counter: a timetable on the time waited
            return self._jittered(min(self.silent_maximum,
                                      self.initial + self.silent_fraction * (now - self._started)))
        if processed > self._last_processed:
            self._progress_snapshots += 1
            if self._anchor is None:
                self._anchor = (now, processed)
            self._last_processed = processed
        if status.pending == 0:
            # all items handled; the operation is wrapping up: poll soon,
            # growing from the minimum (not from the backoff so far)
            if not self._finalizing:
                self._finalizing, self._growth = True, None
            return self._grow(start=self.minimum)
        rate = self.rate(now, processed)
        if rate is not None:
            self._growth = None
            eta = eta_seconds(status.pending, rate) or 0.0
            floor = min(self.maximum, max(self.minimum, self.floor_fraction * (now - self._started)))
            if eta < self.endgame_floors * floor:
                return max(self.minimum, min(floor, eta + self.final_margin))
            return max(floor, self._jittered(min(self.maximum, eta * self.eta_fraction)))
        cap = max(self.initial, self.early_fraction * (now - self._started))
        if processed > 0 and status.pending > 0 and now > self._started:
            # untrusted, pessimistic (start-up included) rate: may only shorten the wait
            eta = status.pending * (now - self._started) / processed
            cap = min(cap, max(self.minimum, eta * self.eta_fraction))
        return min(cap, self._grow(start=self.initial))

    def _grow(self, start: float) -> float:
        """The next backoff delay: from ``start`` when no backoff phase is under way."""
        first, retries = (start, 0) if self._growth is None else (self._growth[0], self._growth[1] + 1)
        self._growth = (first, retries)
        return Backoff(first, self.multiplier, self.maximum).spread(retries, self.jitter)

    def _jittered(self, delay: float) -> float:
        return jittered(delay, self.jitter)
