"""Exponential backoff: one definition for every pause that grows.

Why one object: the transport's retries, the poll schedule's backoff phase,
the pause before restarting a job whose fresh IAM grants have not propagated,
and the short polls around a start or a cancel all wait ``initial x
multiplier^n``, capped at ``maximum``. They differ only in their numbers and
in how they spread (jitter) the delay, so those are the choices offered here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Optional

__all__ = ["Backoff", "jittered"]


def jittered(delay: float, fraction: float,
             uniform: Optional[Callable[[float, float], float]] = None) -> float:
    """``delay`` give or take ``fraction`` of it (never negative)."""
    return max(0.0, delay * (1.0 + (uniform or random.uniform)(-fraction, fraction)))


@dataclass(frozen=True)
class Backoff:
    """Delays ``initial * multiplier**n`` capped at ``maximum`` (``n`` counts from 0).

    ``uniform`` is injectable so tests can pin the jitter (None: ``random.uniform``).
    """

    initial: float
    multiplier: float = 2.0
    maximum: float = 30.0
    uniform: Optional[Callable[[float, float], float]] = field(default=None, repr=False, compare=False)

    def _uniform(self, low: float, high: float) -> float:
        return (self.uniform or random.uniform)(low, high)

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay before retry ``attempt`` (0-based)."""
        return min(self.maximum, self.initial * (self.multiplier ** attempt))

    def equal_jitter(self, attempt: int) -> float:
        """Equal jitter: uniform in [ceiling/2, ceiling] (spreads a crowd of clients)."""
        ceiling = self.ceiling(attempt)
        return self._uniform(ceiling / 2.0, ceiling)

    def spread(self, attempt: int, fraction: float) -> float:
        """The ceiling, give or take ``fraction`` of it (never negative)."""
        return jittered(self.ceiling(attempt), fraction, self.uniform)
