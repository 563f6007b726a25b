"""The job layer's one clock: every wait, settle and deadline of a job reads it here.

Why one module: a job's deadline (``timeout_seconds``), the permission
window and the settles around a start or a cancel are measured against each
other, so they must all read the same monotonic clock. Each module of
:mod:`pulumi_dicom_jobs.jobs` asks this one, which lets a test replace it in
one place (``tests/support/clock.py`` swaps this module's ``time``) and run
minutes of rules in milliseconds. The pauses themselves are the client's
``sleep`` (or a cancel token's).
"""

from __future__ import annotations

import time

__all__ = ["monotonic"]


def monotonic() -> float:
    """Seconds on the monotonic clock (``time.monotonic``, looked up at each call)."""
    return time.monotonic()
