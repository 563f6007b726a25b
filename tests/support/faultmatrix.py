"""The reliability tests' fault matrix: one row per (phase, fault) case, printed at the end.

``tests/reliability/test_rel_faults.py`` appends a :class:`MatrixRow` per case
to :data:`MATRIX`; ``tests/reliability/conftest.py`` prints the table through
pytest's terminal reporter (so it shows with or without ``-s``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class MatrixRow:
    phase: str
    fault: str
    injected: int
    survived: bool
    duplicates: int
    note: str = ""


MATRIX: list[MatrixRow] = []


def write_matrix(terminalreporter: Any) -> None:
    """The matrix as a section of the terminal report (nothing when no case ran)."""
    if not MATRIX:
        return
    tr = terminalreporter
    tr.section("fault matrix (tests/reliability)")
    phases = sorted({r.phase for r in MATRIX}, key=["start", "poll", "cancel", "auth"].index)
    faults = list(dict.fromkeys(r.fault for r in MATRIX))
    cell = {(r.phase, r.fault): r for r in MATRIX}
    width = max(len(f) for f in faults) + 2
    tr.write_line("fault".ljust(width) + "".join(p.ljust(22) for p in phases))
    for fault in faults:
        line = fault.ljust(width)
        for phase in phases:
            row = cell.get((phase, fault))
            text = "-" if row is None else (
                f"inj={row.injected} {'ok' if row.survived else 'FAIL'} dup={row.duplicates}")
            line += text.ljust(22)
        tr.write_line(line)
    total = len(MATRIX)
    survived = sum(r.survived for r in MATRIX)
    duplicates = sum(r.duplicates for r in MATRIX)
    tr.write_line(f"cases: {total}, survived: {survived}, with duplicate operations: "
                  f"{sum(1 for r in MATRIX if r.duplicates)} ({duplicates} extra operations)")
    for row in MATRIX:
        if row.note:
            tr.write_line(f"  {row.phase}/{row.fault}: {row.note}")
