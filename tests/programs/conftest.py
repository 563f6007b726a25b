"""Fixtures of the program tests: one IAM-enforcing local stack per test module, emptied per test."""

from __future__ import annotations

from typing import Iterator

import pytest

from healthcare_emulator.stack import LocalStack
from support.cloud import Cloud
from support.programs import start_enforcing_stack


@pytest.fixture(scope="module")
def enforcing_stack(tmp_path_factory) -> Iterator[LocalStack]:
    stack = start_enforcing_stack(tmp_path_factory.mktemp("stack-logs"))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def cloud(enforcing_stack: LocalStack) -> Cloud:
    """The module's stack, emptied (Healthcare reset, GCS wiped, BigQuery datasets dropped)."""
    cloud = Cloud(enforcing_stack)
    cloud.wipe()
    assert cloud.admin.get("config")["enforceIam"] is True  # a reset keeps the start-up flags
    return cloud
