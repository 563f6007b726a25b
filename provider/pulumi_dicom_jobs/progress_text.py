"""How a waiting job's progress reads, in every face that shows it.

Why below the faces: the CLI's progress display (:mod:`pulumi_dicom_jobs.cli.progress`)
and the plugin's messages in ``pulumi up`` (:mod:`pulumi_dicom_jobs.plugin.engine_log`)
show the same figures (durations as ``H:MM:SS``, the counters, the elapsed
time and ETA an :class:`Estimator` derives from successive snapshots), and
neither face may load the other's libraries (rich and click; pulumi and
grpc). Their two lines are written here, side by side from the same figures:
:func:`log_line` (the CLI's plain lines, one per change, for logs) and
:func:`row_text` (the plugin's message in the resource's row). So is the
sentence both say when a job is started again while IAM grants propagate
(:func:`restart_line`). Nothing here prints or imports a display library.

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

from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.rate import eta_seconds, rate_between
from pulumi_dicom_jobs.lro.status import OperationStatus, counters_text
from pulumi_dicom_jobs.names import short_operation_name
from pulumi_dicom_jobs.timestamps import parse_rfc3339

__all__ = ["format_duration", "operation_duration", "counters_text", "state_word", "log_line", "row_text",
           "restart_line", "Estimator", "RESTART_VERB"]

#: What replaces "Started" when a job is started again while IAM grants propagate: the cause, and
#: where the rule is written (``jobs.run_job`` restarts only after PERMISSION_DENIED with nothing done).
RESTART_VERB = ("Permission denied (an IAM grant may still be propagating; docs/real-gcp.md#the-permission-retry), "
                "started another")


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


def state_word(status: OperationStatus) -> str:
    """``done``, ``cancelling`` (a cancel was asked for) or ``running``."""
    return "done" if status.done else ("cancelling" if status.cancel_requested else "running")


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
        processed = status.processed
        if status.total > 0:
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


def log_line(status: OperationStatus, estimator: Estimator) -> str:
    """``[0:00:05] operations/9 running: success=1 failure=0 pending=6 (1/7, 14%, ETA 0:00:09)``.

    The share and the ETA only once the operation reports a total, and not once done.
    """
    line = (f"[{format_duration(estimator.elapsed())}] {short_operation_name(status.name)} "
            f"{state_word(status)}: {counters_text(status)}")
    if status.total > 0 and not status.done:
        line += (f" ({status.processed}/{status.total}, {100 * status.processed // status.total}%, "
                 f"ETA {format_duration(estimator.eta())})")
    return line


def row_text(status: OperationStatus, estimator: Estimator) -> str:
    """``operations/1234: 40/100 done, 2 failed, 3.1/s, ETA 0:00:19`` (``(cancelling)`` at the end
    while a cancel takes effect)."""
    parts = [f"{short_operation_name(status.name)}:",
             f"{status.processed}/{status.total if status.total else '?'} done,", f"{status.failure} failed"]
    rate = estimator.rate()
    if rate is not None:
        parts[-1] += ","
        parts.append(f"{rate:.1f}/s")
    if not status.done:
        parts[-1] += ","
        parts.append(f"ETA {format_duration(estimator.eta())}")
    if state_word(status) == "cancelling":
        parts.append("(cancelling)")
    return " ".join(parts)


def restart_line(kind: JobKind, name: str) -> str:
    """``Permission denied (...), started another import operation NAME``: said as the restart
    happens, so that a second operation never appears without its reason."""
    return f"{RESTART_VERB} {kind.noun} operation {name}"
