"""A stop request that waiting code checks between polls and that cuts its sleeps short.

Why its own object: a job wait lasts hours and runs on a worker thread, while
the request to stop it (the Pulumi engine's ``Cancel`` on Ctrl-C) arrives on
another thread. A :class:`threading.Event` is the one primitive that both
answers "was I asked to stop?" and can be slept on, so a sleeping waiter
wakes as soon as the request comes instead of after its poll delay.
"""

from __future__ import annotations

import threading

__all__ = ["CancelToken"]


class CancelToken:
    """Set once (by :meth:`cancel`); every wait holding it stops at its next check."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask every holder to stop (safe to call from any thread, and more than once)."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when :meth:`cancel` is called meanwhile."""
        self._event.wait(max(0.0, seconds))
