"""Ctrl-C and SIGTERM on a terminal, as the Pulumi CLI handles them (pkg/backend/cancellation_scope.go).

A terminal's Ctrl-C is SIGINT to its whole foreground process group, so
these tests send it to the group (``os.killpg``), not to one process: the
engine must have started its plugins in groups of their own for only the
engine to hear it. The recording plugin (tests/offline/plugins/recorder)
says what it received and when.
"""

from __future__ import annotations

import io
import os
import signal
import sys

import pytest

from healthcare_emulator.waiting import poll
from pulumi_offline.display import Display
from pulumi_offline.engine import run
from recorder_support import calls, recorder_env, set_things, things_program
from support.cli import PtyRun
from support.programs import by_name, state_of

OFFLINE = (sys.executable, "-m", "pulumi_offline")
CANCELLING = {signal.SIGINT: "^C received; cancelling. If you would like to terminate immediately, press ^C again.",
              signal.SIGTERM: "SIGTERM received; cancelling. If you would like to terminate immediately, send "
                              "SIGTERM again."}
ORPHANS = "Note that terminating immediately may lead to orphaned resources and other inconsistencies."


def _signal_group(terminal: PtyRun, number: int = signal.SIGINT) -> None:
    """What a terminal does on Ctrl-C: the signal to every process of its foreground group."""
    os.killpg(terminal.proc.pid, number)


def _start(program, env: dict[str, str], *args: str) -> PtyRun:
    terminal = PtyRun.start("up", str(program), *args, command=OFFLINE, **env)
    terminal.expect("Updating (", deadline_s=120)
    return terminal


def _wait_blocked(terminal: PtyRun, env: dict[str, str], name: str) -> None:
    """Until the plugin's Create of ``name`` is running (it waits there for Cancel)."""
    def started() -> bool:
        terminal.pump(0.05)
        return bool(calls(env, "create-start", name=name))
    poll(started, deadline_s=120, what=f"the Create of {name} to start")


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_one_ctrl_c_cancels_through_the_plugin_and_saves_what_finished(tmp_path, number):
    things = [{"name": "a", "props": {"label": "x"}},
              {"name": "b", "props": {"label": "x", "block": True}, "depends_on": ["a"]},
              {"name": "c", "props": {"label": "x"}, "depends_on": ["b"]}]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path)
    terminal = _start(program, env)
    _wait_blocked(terminal, env, "b")
    _signal_group(terminal, number)
    code = terminal.finish(deadline_s=60)
    raw = terminal.text.replace("\r\n", "\n")

    assert code == 1, raw
    assert f"{CANCELLING[number]}\n{ORPHANS}" in raw, raw
    # The plugin heard nothing from the terminal: the engine sent Cancel, the Create ended as the
    # plugin decided, and the plugin was interrupted only when the engine closed it at the end.
    update = [c for c in calls(env) if c["pid"] == calls(env, "start")[-1]["pid"]]
    events = [c["event"] for c in update]
    assert events.index("Cancel") < next(i for i, c in enumerate(update) if c["event"] == "Create"
                                         and c["urn"].endswith("::b")) < events.index("SIGINT"), events
    assert "SIGTERM" not in events and events.count("SIGINT") == 1, events
    assert calls(env, "Create", name="c") == []  # no step starts after the cancel
    state = state_of(program)
    assert set(by_name(state)) == {"a", "default"} and state["pending_operations"] == []
    assert "  recorder:index:Thing (b):\n    error: create of b cancelled" in raw, raw
    assert "error: update failed" in raw and "Traceback" not in raw, raw


def test_a_second_ctrl_c_terminates_with_every_finished_step_saved(tmp_path):
    things = [{"name": "a", "props": {"label": "x"}},
              {"name": "b", "props": {"label": "x", "block": True, "ignore_cancel": True}, "depends_on": ["a"]}]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path)
    terminal = _start(program, env)
    _wait_blocked(terminal, env, "b")
    _signal_group(terminal)
    terminal.expect("cancelling", deadline_s=30)
    _signal_group(terminal)
    code = terminal.finish(deadline_s=60)
    raw = terminal.text

    assert code == 255, raw
    assert "^C received; terminating" in raw, raw
    # pkg/engine/update.go OnResourceStepPost saved each finished step; the one running is pending
    state = state_of(program)
    assert set(by_name(state)) == {"a", "default"}
    assert [(op["urn"].rsplit("::", 1)[-1], op["kind"]) for op in state["pending_operations"]] == [("b", "creating")]
    # the next update says so (deployment_executor.go printPendingOperationsWarning)
    out = io.StringIO()
    things[1]["props"] = {"label": "x"}
    set_things(program, things)
    result = run("up", program, env=env, display=Display(out))
    assert result.ok, out.getvalue()
    assert ("warning: Attempting to deploy or update resources with 1 pending operations from previous "
            f"deployment.\n      * {state['pending_operations'][0]['urn']}, interrupted while creating") \
        in out.getvalue(), out.getvalue()
