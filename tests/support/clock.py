"""A monotonic clock that only sleeping moves: the job layer's rules in milliseconds.

Why: the job layer's windows and pauses (the 120 s permission window, the
settle after a lost answer, the poll schedule) are minutes of wall clock.
Patched in as the ``time`` of the job layer's one clock
(``pulumi_dicom_jobs.jobs.clock``) and handed to the client as its
``sleep``, this clock makes every pause instant and every deadline exact,
while requests still go over loopback to a scripted API (support.scripted).
"""

from __future__ import annotations

import types

import pytest

__all__ = ["FakeClock", "install"]


class FakeClock:
    """``monotonic()`` reads it; ``sleep(s)`` moves it (never backwards)."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"asked to sleep {seconds}s"
        self.sleeps.append(seconds)
        self.now += seconds


def install(monkeypatch: pytest.MonkeyPatch, module: object) -> FakeClock:
    """A fresh clock patched in as ``module.time`` (``monotonic`` and ``sleep``)."""
    fake = FakeClock()
    monkeypatch.setattr(module, "time", types.SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep))
    return fake
