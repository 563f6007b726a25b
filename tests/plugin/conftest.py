"""Fixtures of the plugin tests: the local stack's store (shared with the provider
tests) and the plugin process with its recording engine."""

from __future__ import annotations

from typing import Iterator

import pytest

from support.plugin import PluginProcess, RecordingEngine, running


@pytest.fixture
def plugin(stack) -> Iterator[tuple[RecordingEngine, PluginProcess]]:
    """A configured plugin (default config) talking to a fresh recording engine."""
    for engine, process in running():
        process.configure()
        yield engine, process
