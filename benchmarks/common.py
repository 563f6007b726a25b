"""Shared pieces of the benchmarks: the results table and measurements.

The emulators are driven through the tests' own clients (``tests.support``:
``Cloud`` bundles the Healthcare API, its admin surface and Cloud Storage);
waits go through :func:`healthcare_emulator.waiting.poll`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

#: The bearer every benchmark request carries (the emulator accepts any token).
TOKEN = "bench-token-not-a-secret"


@dataclass
class Figure:
    """One row of the results table."""

    bench: str
    metric: str
    value: str
    baseline: str
    ratio: str
    target: str
    ok: bool | None  # None: informational

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "-"}[self.ok]


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.figures.append(Figure(*args, **kwargs))

    def note(self, text: str) -> None:
        self.notes.append(text)


def table(figures: Iterable[Figure]) -> str:
    header = ("bench", "metric", "value", "baseline (same run)", "ratio", "target", "verdict")
    rows = [header] + [(f.bench, f.metric, f.value, f.baseline, f.ratio, f.target, f.verdict)
                       for f in figures]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rfc3339_to_epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
