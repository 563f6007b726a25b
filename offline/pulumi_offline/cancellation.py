"""Ctrl-C and SIGTERM while the engine runs, as the Pulumi CLI's cancellation scope handles them.

Why: a terminal's Ctrl-C goes to the whole foreground process group; the
engine's plugins have groups of their own (:mod:`.host`), so only the
engine hears it and decides (pulumi/pulumi ``pkg/backend/cancellation_scope.go``,
``NewScope``): the first signal prints the CLI's line and cancels (every
provider gets ``Cancel``, no new step starts, the running ones finish and
are saved), the second terminates (nothing more saved, every plugin killed;
each step that finished is saved already). The CLI and ``make demo`` share
this; what happens after a termination is theirs (``on_terminate``). With
no run in progress a signal interrupts as Python's default does.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    from .deployment import Engine
    from .display import Display

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_NAMES = {signal.SIGINT: "^C", signal.SIGTERM: "SIGTERM"}
ORPHANS = "Note that terminating immediately may lead to orphaned resources and other inconsistencies."


def cancelling_message(number: int, *, preview: bool) -> str:
    """What the CLI prints on the first signal (``cancellation_scope.go``)."""
    if number == signal.SIGTERM:
        text = "SIGTERM received; cancelling. If you would like to terminate immediately, send SIGTERM again."
    else:
        text = "^C received; cancelling. If you would like to terminate immediately, press ^C again."
    return text if preview else f"{text}\n{ORPHANS}"


def terminating_message(number: int) -> str:
    return f"{_NAMES.get(number, '^C')} received; terminating"


class CancellationScope:
    """Signal handling around engine runs: :meth:`attach` is ``run``'s ``on_engine``."""

    def __init__(self, display: "Display", on_terminate: Callable[[], None]) -> None:
        self._display, self._on_terminate = display, on_terminate
        self._engine: "Engine | None" = None
        self._signalled = False
        self._previous: dict[int, object] = {}

    def attach(self, engine: "Engine") -> None:
        """``engine`` runs now (a preview, then the update): signals go to it."""
        self._engine = engine
        if self._signalled:  # cancelled while the previous one ran: this one starts cancelled
            engine.executor.cancelled = True

    @property
    def signalled(self) -> bool:
        return self._signalled

    def _handle(self, number: int, _frame: object) -> None:
        engine = self._engine
        if engine is None:
            raise KeyboardInterrupt
        if not self._signalled:
            self._signalled = True
            self._display.line(cancelling_message(number, preview=engine.preview))
            threading.Thread(target=engine.cancel, name="cancel", daemon=True).start()
            return
        self._display.line(terminating_message(number))
        engine.terminate()
        self._on_terminate()

    @contextmanager
    def installed(self) -> Iterator["CancellationScope"]:
        """Handle SIGINT and SIGTERM while the block runs (on the main thread)."""
        for number in _SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        try:
            yield self
        finally:
            self._engine = None
            for number, previous in self._previous.items():
                signal.signal(number, previous)
