"""Plan and result lines in the spirit of the Pulumi CLI (plain text, thread-safe).

While a step runs, its resource has a row: ``creating (12s)`` and the latest
ephemeral status its provider sent (the engine's ``Log`` with ``ephemeral``
set). On a terminal the rows are drawn in place below the finished lines and
redrawn every second, then erased when the step ends, as the Pulumi CLI's
interactive display does: the finished output holds no status line. Off a
terminal (a pipe, a log file) a row is printed each time its status text
changes, as the CLI's non-interactive display does. A step with no status (a
dynamic resource) shows only its elapsed time, and only on a terminal.

At the end, as ``pkg/backend/display/progress.go`` orders it: the kept
diagnostics (errors, warnings, infos: not the ephemeral statuses) grouped
under their resource's ``TYPE (NAME):`` (those about no resource under the
stack's), then the outputs, the counts and the duration. Each ``header``
starts a section of its own (``up`` prints its preview, then the update).
A diagnostic's severity prefix is the engine's (``error: ``, ``warning: ``;
none for the two info severities), and the messages of one stream (a
plugin's stdout, say) are joined into one block (``printDiagnostics``);
docs/offline-engine.md#each-behaviour-and-where-it-comes-from.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping, TextIO

from .messages import INFO, INFOERR
from .outputs import output_lines

SYMBOLS = {"create": "+ ", "update": "~ ", "replace": "+-", "delete": "- ", "same": "  ", "retain": "- ",
           "import": "= "}
PAST = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted",
        "same": "unchanged", "retain": "retained", "import": "imported"}
PLANNED = {"create": "create", "update": "update", "replace": "replace", "delete": "delete",
           "same": "same", "retain": "retain (not deleted)", "import": "import"}
RUNNING = {"create": "creating", "update": "updating", "replace": "replacing", "delete": "deleting",
           "retain": "retaining", "same": "same", "import": "importing"}
#: The order the summary counts steps in.
COUNTED = ("create", "import", "update", "replace", "delete", "retain")
STACK_TYPE = "pulumi:pulumi:Stack"
#: How often a terminal's in-flight rows are redrawn (their elapsed time ticks).
REDRAW_SECONDS = 1.0
_ERASE_LINES = "\x1b[{}F\x1b[J"  # cursor up N lines to column 0, clear to the end of the screen


@dataclass
class _Row:
    kind: str
    type: str
    name: str
    started: float
    status: str = ""


def severity_prefix(severity: str) -> str:
    """``pkg/engine/eventsink.go`` ``StringifyDiag``: ``error: ``, ``warning: ``, ``debug: ``; the two info
    severities (a ``Log`` at INFO, a plugin's stdout and stderr) carry none."""
    return "" if severity in (INFO, INFOERR) else f"{severity}: "


def displayable_lines(text: str) -> list[str]:
    """A diagnostic's lines as ``Diagnostics:`` prints them (``progress.go`` ``splitIntoDisplayableLines``
    and ``printDiagnostics``): trailing blank lines dropped, each line right-trimmed."""
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.rstrip() for line in lines]


def _stream_blocks(messages: list[tuple[str, str, int]]) -> list[list[str]]:
    """One resource's diagnostics as printed blocks: stream 0's messages one by one, then each other
    stream's messages joined into one (prefixed as its first), in the order the streams started.

    ``printDiagnostics`` walks a Go map of streams, so the real order of the blocks varies from run to
    run; stream 0 first, then by first message, is one order it prints."""
    streams: dict[int, list[tuple[str, str]]] = {0: []}
    for severity, message, stream in messages:
        streams.setdefault(stream, []).append((severity, message))
    blocks = []
    for stream, items in streams.items():
        if stream == 0:
            texts = [severity_prefix(severity) + message for severity, message in items]
        else:
            texts = [severity_prefix(items[0][0]) + "".join(message for _, message in items)]
        block = [line for text in texts for line in displayable_lines(text)]
        if block:
            blocks.append(block)
    return blocks


def _row_text(symbol_kind: str, type_: str, name: str, word: str) -> str:
    return f"  {SYMBOLS[symbol_kind]} {type_:<50} {name:<30} {word}"


class Display:
    def __init__(self, out: TextIO | None = None, *, show_same: bool = False,
                 interactive: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.show_same = show_same
        if interactive is None:
            isatty = getattr(self.out, "isatty", None)
            interactive = bool(isatty and isatty())
        self.interactive = interactive
        self._lock = threading.RLock()
        self._rows: dict[str, _Row] = {}
        self._drawn = 0  # live lines currently on the terminal
        self._ticker: threading.Thread | None = None
        self._diagnostics: list[tuple[str, str, str, int]] = []  # (urn, severity, message, stream id)
        self._stack_urn = ""
        self._sections = 0

    # -- permanent lines ---------------------------------------------------
    def line(self, text: str = "") -> None:
        with self._lock:
            self._erase()
            self.out.write(text + "\n")
            self._draw()
            self.out.flush()

    def header(self, action: str, project: str, stack: str) -> None:
        """A section starts (``Previewing update``, ``Updating``...): its own diagnostics from here."""
        with self._lock:
            self._diagnostics = []
            self._stack_urn = f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"
            if self._sections:
                self.line("")
            self._sections += 1
        self.line(f"{action} ({project}/{stack}):")

    def step(self, kind: str, type_: str, name: str, *, preview: bool, seconds: float | None = None,
             note: str | None = None, urn: str | None = None) -> None:
        with self._lock:
            if urn is not None:
                self._rows.pop(urn, None)
            if kind == "same" and not self.show_same:
                self._redraw()
                return
            word = PLANNED[kind] if preview else PAST[kind]
            timing = f" ({seconds:.1f}s)" if seconds is not None and not preview else ""
            extra = f" [{note}]" if note else ""
            self.line(_row_text(kind, type_, name, f"{word}{timing}{extra}"))

    def failed(self, type_: str, name: str, message: str | None = None, *, urn: str | None = None) -> None:
        """A step failed (its error is a diagnostic: :meth:`diagnostic`)."""
        with self._lock:
            if urn is not None:
                self._rows.pop(urn, None)
            self.line(f"  ** {type_:<50} {name:<30} failed")

    # -- rows of running steps ----------------------------------------------
    def begin(self, urn: str, kind: str, type_: str, name: str) -> None:
        """A step on ``urn`` starts: its row shows until :meth:`step` or :meth:`failed`."""
        with self._lock:
            self._rows[urn] = _Row(kind, type_, name, time.monotonic())
            self._redraw()
            if self.interactive and (self._ticker is None or not self._ticker.is_alive()):
                self._ticker = threading.Thread(target=self._tick, name="display-ticker", daemon=True)
                self._ticker.start()

    def status(self, urn: str, text: str) -> None:
        """A provider's ephemeral status on ``urn``: the row's latest one replaces the previous."""
        with self._lock:
            row = self._rows.get(urn)
            if row is None or row.status == text:
                return
            row.status = text
            if self.interactive:
                self._redraw()
            else:
                self.line(self._live_text(row))

    def diagnostic(self, urn: str, severity: str, message: str, stream: int = 0) -> None:
        """A kept message about ``urn`` (``""``: the stack), under Diagnostics. ``severity`` is one of
        :mod:`.messages`' severities; the messages of one ``stream`` (not 0) are shown as one."""
        with self._lock:
            self._diagnostics.append((urn or self._stack_urn, severity, message, stream))

    def _live_text(self, row: _Row) -> str:
        word = f"{RUNNING[row.kind]} ({int(time.monotonic() - row.started)}s)"
        return _row_text(row.kind, row.type, row.name, f"{word} {row.status}".rstrip())

    def _erase(self) -> None:
        if self._drawn:
            self.out.write(_ERASE_LINES.format(self._drawn))
            self._drawn = 0

    def _draw(self) -> None:
        if not self.interactive or not self._rows:
            return
        width = max(20, shutil.get_terminal_size((160, 24)).columns - 1)  # a wrapped row would miscount
        for row in self._rows.values():
            self.out.write(self._live_text(row)[:width] + "\n")
            self._drawn += 1

    def _redraw(self) -> None:
        if not self.interactive:
            return
        with self._lock:
            self._erase()
            self._draw()
            self.out.flush()

    def _tick(self) -> None:
        """Redraw once a second while steps run (elapsed times tick); end when none does."""
        while True:
            time.sleep(REDRAW_SECONDS)  # a clock, not a wait for something to happen
            with self._lock:
                if not self._rows:
                    self._ticker = None
                    return
                self._redraw()

    # -- the end -------------------------------------------------------------
    def summary(self, counts: Mapping[str, int], *, preview: bool, seconds: float,
                outputs: Mapping[str, Any] | None) -> None:
        with self._lock:
            self._rows.clear()
            self._redraw()
            diagnostics = list(self._diagnostics)
        self.line("")
        groups: dict[str, list[tuple[str, str, int]]] = {}
        for urn, severity, message, stream in diagnostics:
            groups.setdefault(urn, []).append((severity, message, stream))
        blocks_of = {urn: _stream_blocks(messages) for urn, messages in groups.items()}
        shown = {urn: blocks for urn, blocks in blocks_of.items() if blocks}
        if shown:
            self.line("Diagnostics:")
            for urn, blocks in shown.items():
                parts = urn.split("::")
                if len(parts) >= 4:  # under the resource's type and name
                    self.line(f"  {parts[2].rsplit('$', 1)[-1]} ({parts[3]}):")
                for block in blocks:
                    for text in block:
                        self.line(f"    {text}")
                    self.line("")
        if outputs:
            self.line("Outputs:")
            for text in output_lines(outputs):
                self.line(text)
            self.line("")
        self.line("Resources:")
        for kind in COUNTED:
            if counts.get(kind):
                verb = PLANNED[kind] if preview else PAST[kind]
                prefix = "to " if preview else ""
                self.line(f"    {SYMBOLS[kind]}{counts[kind]} {prefix}{verb}")
        if counts.get("same"):
            self.line(f"    {counts['same']} unchanged")
        self.line("")
        self.line(f"Duration: {seconds:.1f}s")
