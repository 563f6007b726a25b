"""Fixtures and the fault-matrix report for tests/reliability.

The matrix (faults injected / survived / duplicate operations) is printed at
the end of the session through the terminal reporter, so it shows with or
without ``-s``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.cloud import Cloud

SUPPORT = Path(__file__).parent / "_support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))
TESTS = Path(__file__).parent.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


@dataclass
class MatrixRow:
    phase: str
    fault: str
    injected: int
    survived: bool
    duplicates: int
    note: str = ""


MATRIX: list[MatrixRow] = []


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
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


@pytest.fixture
def rest(stack, emulator) -> Cloud:  # emulator: reset before each test
    """Authorized calls to the Healthcare emulator, fresh stores and buckets."""
    return Cloud(stack, token="rel-test-admin")
