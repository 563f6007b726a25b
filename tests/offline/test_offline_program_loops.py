"""The program runner closes the event loops a run makes (offline/pulumi_offline/program.py WorkerLoops).

Why a test: a loop left open is collected at interpreter exit after its
sockets and prints "Exception ignored ... Invalid file descriptor: -1" with a
traceback on stderr, at the end of ``make demo`` and of test runs (CI saw it
and the demo's Ctrl-C test, which refuses a traceback, failed on it).
"""

from __future__ import annotations

import asyncio

import pulumi_gcp as gcp
import pytest

from pulumi_offline import program as program_runner
from support.graph import run_callable


def _loops_made_by_a_run(monkeypatch: pytest.MonkeyPatch) -> list[asyncio.AbstractEventLoop]:
    made: list[asyncio.AbstractEventLoop] = []
    original = asyncio.new_event_loop

    def recorded() -> asyncio.AbstractEventLoop:
        loop = original()
        made.append(loop)
        return loop

    monkeypatch.setattr(asyncio, "new_event_loop", recorded)

    def body() -> None:
        for index in range(6):  # registrations on several of the runner's threads
            gcp.storage.Bucket(f"b{index}", location="EU")

    run_callable(body, {"gcp:project": "p"})
    return made


def test_a_run_closes_every_event_loop_it_made(monkeypatch: pytest.MonkeyPatch) -> None:
    made = _loops_made_by_a_run(monkeypatch)
    assert len(made) > 1, "the runner's own loop and one per registration thread"
    assert [loop for loop in made if not loop.is_closed()] == []


def test_without_a_loop_per_thread_the_sdk_leaves_one_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the runner guards against: the SDK's mock monitor makes its own loop in a thread
    without one (``sync_await._ensure_event_loop``) and never closes it."""
    monkeypatch.setattr(program_runner.WorkerLoops, "give_this_thread_one", lambda self: None)
    made = _loops_made_by_a_run(monkeypatch)
    left_open = [loop for loop in made if not loop.is_closed()]
    assert left_open, "the SDK closed its loops itself: WorkerLoops may no longer be needed"
    for loop in left_open:
        loop.close()
