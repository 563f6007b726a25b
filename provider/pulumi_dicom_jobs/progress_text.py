"""How a waiting job's progress reads, in every face that shows it.

Why below the faces: the CLI's progress display (:mod:`pulumi_dicom_jobs.cli.progress`)
and the plugin's messages in ``pulumi up`` (:mod:`pulumi_dicom_jobs.plugin.engine_log`)
show the same figures (durations as ``H:MM:SS``, the counters, the elapsed
time and ETA an :class:`Estimator` derives from successive snapshots), and
neither face may load the other's libraries (rich and click; pulumi and
grpc). Nothing here prints or imports a display library.

Elapsed time counts from the operation's ``createTime`` when it is sane (so
``dicom-jobs wait`` on an old operation shows its true age), else from when
the display started. Once the operation is done it stops at the operation's
own duration (``endTime - createTime``), the figure the final summary shows,
rather than at the moment the last poll happened to see it done.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from pulumi_dicom_jobs.lro.rate import eta_seconds, rate_between
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.timestamps import parse_rfc3339

__all__ = ["format_duration", "operation_duration", "counters_text", "Estimator"]


def format_duration(seconds: Optional[float]) -> str:
    """``H:MM:SS`` (``-:--:--`` when unknown)."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "-:--:--"
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def operation_duration(status: OperationStatus) -> Optional[float]:
    """Seconds from ``createTime`` to ``endTime`` of a finished operation, if both parse."""
    start, end = parse_rfc3339(status.create_time), parse_rfc3339(status.end_time)
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def counters_text(status: Optional[OperationStatus]) -> str:
    """``success=N failure=N pending=N`` (``pending=?`` before the first snapshot)."""
    if status is None:
        return "success=0 failure=0 pending=?"
    return f"success={status.success} failure={status.failure} pending={status.pending}"


@dataclass
class Estimator:
    """Elapsed time and ETA from successive snapshots.

    The rate is measured between the first snapshot that reported a total
    and the latest one; the ETA is ``pending / rate``, counted down between
    snapshots so a display refreshing faster than the polls stays smooth.
    """

    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc)
    started: float = field(default=0.0)
    _origin: Optional[float] = None
    _first: Optional[tuple[float, int]] = None
    _last: Optional[tuple[float, int, int]] = None
    _final: Optional[float] = None
    done: bool = False

    def __post_init__(self) -> None:
        self.started = self.clock()

    def observe(self, status: OperationStatus) -> None:
        now = self.clock()
        if self._origin is None:
            created = parse_rfc3339(status.create_time)
            if created is not None:
                age = (self.wall() - created).total_seconds()
                # a clock skew or a bogus time must not show nonsense
                if 0 <= age < 10 * 365 * 86400:
                    self._origin = now - age
            if self._origin is None:
                self._origin = self.started
        processed = status.success + status.failure
        if status.pending + processed > 0:
            if self._first is None:
                self._first = (now, processed)
            self._last = (now, processed, status.pending)
        self.done = status.done
        if status.done:
            self._final = operation_duration(status)

    def elapsed(self) -> float:
        if self.done and self._final is not None:
            return self._final
        origin = self._origin if self._origin is not None else self.started
        return max(0.0, self.clock() - origin)

    def rate(self) -> Optional[float]:
        """Items per second, once two snapshots show progress."""
        if self._first is None or self._last is None:
            return None
        return rate_between(self._first, self._last[:2])

    def eta(self) -> Optional[float]:
        """Seconds left, or None when unknown."""
        if self.done or self._last is None:
            return 0.0 if self.done else None
        t1, _, pending = self._last
        left = eta_seconds(pending, self.rate())
        if left is None or pending == 0:
            return left
        return max(0.0, left - (self.clock() - t1))
