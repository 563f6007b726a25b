"""Completion rate and time left, from two observations of a counter.

Why its own module: the poll schedule (when to look again) and the progress
the faces show (:class:`pulumi_dicom_jobs.progress_text.Estimator`: what ETA
to show) both turn "this many items by then" into items per second and
seconds left. Which two observations they compare is theirs to choose (the
schedule waits for a trusted rate, the display shows one as soon as it can);
the arithmetic is the same and lives here.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["rate_between", "eta_seconds"]

#: ``(seconds on a monotonic clock, items processed by then)``.
Observation = tuple[float, int]


def rate_between(first: Observation, last: Observation) -> Optional[float]:
    """Items per second from ``first`` to ``last``; None without time or progress between them."""
    seconds, items = last[0] - first[0], last[1] - first[1]
    return items / seconds if seconds > 0 and items > 0 else None


def eta_seconds(pending: int, rate: Optional[float]) -> Optional[float]:
    """Seconds until ``pending`` items are processed at ``rate`` (0 when none pend; None: unknown)."""
    if pending <= 0:
        return 0.0
    if rate is None or rate <= 0:
        return None
    return pending / rate
