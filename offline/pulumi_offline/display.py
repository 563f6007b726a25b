"""Plan and result lines in the spirit of the Pulumi CLI (plain text, thread-safe)."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, Mapping, TextIO

SYMBOLS = {"create": "+ ", "update": "~ ", "replace": "+-", "delete": "- ", "same": "  ", "retain": "- "}
PAST = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted",
        "same": "unchanged", "retain": "retained"}
PLANNED = {"create": "create", "update": "update", "replace": "replace", "delete": "delete",
           "same": "same", "retain": "retain (not deleted)"}


class Display:
    def __init__(self, out: TextIO | None = None, *, show_same: bool = False) -> None:
        self.out = out or sys.stdout
        self.show_same = show_same
        self._lock = threading.Lock()

    def line(self, text: str = "") -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def header(self, action: str, project: str, stack: str) -> None:
        self.line(f"{action} ({project}/{stack}):")

    def step(self, kind: str, type_: str, name: str, *, preview: bool, seconds: float | None = None,
             note: str | None = None) -> None:
        if kind == "same" and not self.show_same:
            return
        word = PLANNED[kind] if preview else PAST[kind]
        timing = f" ({seconds:.1f}s)" if seconds is not None and not preview else ""
        extra = f" [{note}]" if note else ""
        self.line(f"  {SYMBOLS[kind]} {type_:<50} {name:<30} {word}{timing}{extra}")

    def progress(self, name: str, text: str) -> None:
        self.line(f"       {name}: {text}")

    def failed(self, type_: str, name: str, message: str) -> None:
        self.line(f"  ** {type_:<50} {name:<30} failed")

    def summary(self, counts: Mapping[str, int], *, preview: bool, seconds: float,
                outputs: Mapping[str, Any] | None, errors: list[str]) -> None:
        self.line("")
        if outputs:
            self.line("Outputs:")
            for key in sorted(outputs):
                self.line(f"    {key}: {json.dumps(outputs[key], default=str)}")
            self.line("")
        self.line("Resources:")
        for kind in ("create", "update", "replace", "delete", "retain"):
            if counts.get(kind):
                verb = PLANNED[kind] if preview else PAST[kind]
                prefix = "to " if preview else ""
                self.line(f"    {SYMBOLS[kind]}{counts[kind]} {prefix}{verb}")
        if counts.get("same"):
            self.line(f"    {counts['same']} unchanged")
        self.line("")
        self.line(f"Duration: {seconds:.1f}s")
        for error in errors:
            self.line("")
            self.line("error: " + error.replace("\n", "\n    "))
