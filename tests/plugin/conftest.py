"""Fixtures of the plugin tests: the local stack's store (shared with the provider
tests) and the plugin process with its recording engine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "provider"))

from provider_support import Env, env, synthetic  # noqa: E402,F401 (fixtures)
from plugin_support import PluginProcess, RecordingEngine, running  # noqa: E402


@pytest.fixture
def plugin(stack) -> Iterator[tuple[RecordingEngine, PluginProcess]]:
    """A configured plugin (default config) talking to a fresh recording engine."""
    for engine, process in running():
        process.configure()
        yield engine, process
