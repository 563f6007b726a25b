"""The tests' one fake clock: a monotonic clock that only sleeping (or ``advance``) moves.

Why: the job layer's windows and pauses (the 120 s permission window, the
settle after a lost answer, the poll schedule), the waiter's deadline and the
displays' ETA and throttling are minutes of wall clock. Handed to the code as
its clock and sleep, this clock makes every pause instant and every deadline
exact, while requests still go over loopback to a scripted API
(support.scripted).

:func:`install_in_job_layer` is the one place that knows where the job layer
reads its clock: a change of that module changes one line here.
"""

from __future__ import annotations

import datetime as dt
import types
from typing import Optional

import pytest

__all__ = ["FakeClock", "install_in_job_layer"]

#: Where :meth:`FakeClock.wall` starts unless told otherwise.
WALL_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


class FakeClock:
    """``monotonic()`` (or calling it) reads it; ``sleep(s)`` moves it and is recorded in
    :attr:`sleeps`; ``advance(s)`` moves it without a sleep (time passing elsewhere);
    ``wall()`` is a UTC time that moves with it. ``now`` may be set directly."""

    def __init__(self, now: float = 0.0, wall: Optional[dt.datetime] = None) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self._start = now
        self._wall_start = wall or WALL_START

    def monotonic(self) -> float:
        return self.now

    __call__ = monotonic  # for code that takes a clock as a callable

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"asked to sleep {seconds}s"
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        assert seconds >= 0, f"asked to go back {-seconds}s"
        self.now += seconds

    def wall(self) -> dt.datetime:
        return self._wall_start + dt.timedelta(seconds=self.now - self._start)


def install_in_job_layer(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fresh clock as the job layer's one clock (the ``time`` of
    :mod:`pulumi_dicom_jobs.jobs.clock`), for the rest of the test: every wait and
    deadline of the job layer reads it."""
    from pulumi_dicom_jobs.jobs import clock

    fake = FakeClock()
    monkeypatch.setattr(clock, "time", types.SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep))
    return fake
