"""Fixtures and the fault-matrix report for tests/reliability.

The matrix (faults injected / survived / duplicate operations) is printed at
the end of the session through the terminal reporter, so it shows with or
without ``-s``.
"""

from __future__ import annotations

import pytest

from support.cloud import Cloud
from support.faultmatrix import write_matrix

def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    write_matrix(terminalreporter)


@pytest.fixture
def rest(stack, emulator) -> Cloud:  # emulator: reset before each test
    """Authorized calls to the Healthcare emulator, fresh stores and buckets."""
    return Cloud(stack, token="rel-test-admin")
