"""Poll until something holds, with a deadline: the one such loop in the repository.

Why here: the local stack waits for its servers to answer, and every test
and benchmark that drives the emulator waits for an operation or a file to
appear. Sleeping a fixed time instead either flakes on a loaded machine or
wastes time on an idle one; this loop asks often at first and less often
later, and fails with a message naming what it waited for.
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
