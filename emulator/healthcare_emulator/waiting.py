"""Poll until something holds, with a deadline: the wait used around the emulator.

Why here: the local stack waits for its servers to answer, and the tests
and benchmarks wait for the emulator, or a process they started, to reach
the state they check. Sleeping a fixed time instead either flakes on a
loaded machine or wastes time on an idle one; this loop asks often at first
and less often later, and fails with a message naming what it waited for.

It is not the repository's only waiting loop: the product waits on an
operation with its own poll schedule (``pulumi_dicom_jobs.lro``; the
distributions share no code), and tests that drive the CLI on a terminal
read its output until a deadline (``tests/support/cli.py``) rather than poll.
"""

from __future__ import annotations

import time
from typing import Callable, Optional, TypeVar

_T = TypeVar("_T")


class PollTimeout(AssertionError):
    """The condition did not hold before the deadline (an AssertionError, so tests read it as a failure)."""


def poll(predicate: Callable[[], _T], *, deadline_s: float = 20.0, what: str = "condition",
         alive: Optional[Callable[[], bool]] = None,
         transient: tuple[type[BaseException], ...] = (),
         first_delay_s: float = 0.02, max_delay_s: float = 0.25) -> _T:
    """Call ``predicate`` until it returns something truthy; return that value.

    ``alive`` (optional) is asked before each try: when it says no (say, the
    server process exited), waiting longer cannot help, so this fails at once.
    Exceptions of the ``transient`` types count as "not yet". The pause grows
    from ``first_delay_s`` by half each time up to ``max_delay_s``.
    """
    end = time.monotonic() + deadline_s
    delay = first_delay_s
    last: object = None
    while True:
        if alive is not None and not alive():
            raise PollTimeout(f"{what}: gave up, the process exited before it was ready")
        try:
            last = predicate()
        except transient as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= end:
            raise PollTimeout(f"timed out after {deadline_s:g}s waiting for {what} (last: {last!r})")
        time.sleep(min(delay, max(0.0, end - time.monotonic())))
        delay = min(delay * 1.5, max_delay_s)
