"""``dicom-jobs`` under a pseudo-terminal: live progress, and Ctrl-C.

The CLI runs in a subprocess whose stdin/stdout/stderr are a pty (stdlib
``pty``; output read with ``os.read`` in a select loop with deadlines), so it
believes a person is watching: it must draw the live ``rich`` display, end
cleanly, and on SIGINT cancel the operation (``--cancel-on-interrupt``) or
ask first.
"""

from __future__ import annotations

import re

from support.cli import OUTLASTING_PACE_S, PtyRun, op_name_in

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_live_progress_renders_and_ends_cleanly(setup):
    setup.upload_synthetic("in", 12)
    setup.slow(1.0)  # slow until the display has shown an estimate (12 s at most)...
    run = PtyRun.start("import", setup.store, setup.gs("in/*.dcm"))
    run.expect("Started import operation")
    run.expect("elapsed")  # the live line is being drawn
    run.expect_pattern(r"ETA \d+:\d\d:\d\d", deadline_s=60.0)  # a real estimate, not "ETA -:--:--"
    setup.slow(0.0)  # ...then the rest at full speed (the emulator re-reads the pace per instance)
    code = run.finish(deadline_s=60.0)
    raw = run.text
    assert code == 0, raw
    assert "\x1b[" in raw  # a terminal got control sequences (cursor moves, colours)
    text = ANSI.sub("", raw)
    assert "━" in text  # the bar
    assert re.search(r"success \d+\s+failure 0\s+pending \d+", text), text
    assert re.search(r"\d+/12", text), text  # the total became known
    assert re.search(r"ETA \d+:\d\d:\d\d", text), text
    assert re.search(r"succeeded in \d+:\d\d:\d\d: 12 instance\(s\) succeeded", text), text
    assert "Traceback" not in text and "Warning" not in text


def test_ctrl_c_with_cancel_on_interrupt_cancels(setup):
    setup.upload_synthetic("in", 20)
    setup.slow(OUTLASTING_PACE_S)
    run = PtyRun.start("import", setup.store, setup.gs("in/*.dcm"), "--cancel-on-interrupt")
    run.expect("Started import operation")
    name = op_name_in(run.text)
    run.expect("elapsed")
    run.interrupt()
    code = run.finish()
    assert code == 5, run.text
    assert "was cancelled" in run.text
    assert "Cancel operation" not in run.text  # no question asked
    op = setup.operation(name)
    assert op["done"] is True and op["error"]["code"] == 1
    assert op["metadata"]["cancelRequested"] is True


def _interrupted_import(setup) -> tuple["PtyRun", str]:
    """A slow import in a terminal, Ctrl-C pressed while it runs, at the cancel question."""
    setup.upload_synthetic("in", 20)
    setup.slow(OUTLASTING_PACE_S)
    run = PtyRun.start("import", setup.store, setup.gs("in/*.dcm"))
    run.expect("Started import operation")
    name = op_name_in(run.text)
    run.expect("elapsed")
    run.interrupt()
    run.expect("Cancel operation")
    return run, name


def test_ctrl_c_asks_and_yes_cancels(setup):
    run, name = _interrupted_import(setup)
    run.send("y\r")
    assert run.finish() == 5, run.text
    assert setup.operation(name)["error"]["code"] == 1


def test_ctrl_c_asks_and_no_leaves_it_running(setup):
    run, name = _interrupted_import(setup)
    run.send("n\r")
    assert run.finish() == 130, run.text
    assert f"dicom-jobs wait {name}" in run.text
    op = setup.operation(name)
    assert op.get("done") is not True and op["metadata"]["cancelRequested"] is False
