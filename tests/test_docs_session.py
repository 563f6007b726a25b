"""The sandbox and the ``dicom-jobs`` session shown in docs/cli.md are what the code prints today.

The test starts the sandbox with the command the page shows
(``python -m healthcare_emulator.stack --seed ...``) and compares what it
prints with the page; then, in one bash session with the printed ``export``
lines pasted (outside a terminal, as in a CI log), it runs the page's ``$ ``
commands and compares the output with the page, after masking what changes
from run to run: operation ids, ports, durations and the timing-dependent
progress lines. A message that drifts from the page fails here, and so does
a page that stops running the commands the sandbox prints.

To refresh the page from the code after a deliberate change of the output:
``UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_docs_session.py``
(both blocks are rewritten with the new run; review the diff).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from support.sandbox import SandboxProcess, shell_env

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "cli.md"
SECTION = "## A session"
SANDBOX = ["python", "-m", "healthcare_emulator.stack"]

pytestmark = pytest.mark.slow


def console_blocks(text: str) -> list[tuple[int, int]]:
    """Line spans (start, end) of the console blocks in the section: the sandbox's, then the session's."""
    lines = text.splitlines()
    start = lines.index(SECTION)
    stop = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    spans, line = [], start
    while line < stop:
        if lines[line].startswith("```console"):
            closing = next(i for i in range(line + 1, stop) if lines[i].startswith("```"))
            spans.append((line + 1, closing))
            line = closing
        line += 1
    return spans


def mask(output: str) -> list[str]:
    """The output with what varies between runs masked, progress lines left out."""
    masked = []
    for line in output.splitlines():
        line = re.sub(r"operations/\d+", "operations/ID", line)
        line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line)
        line = re.sub(r"\b\d+:\d\d:\d\d\b", "H:MM:SS", line)
        if re.match(r"^\[H:MM:SS\] operations/ID running:", line):
            continue  # how many progress lines appear depends on timing
        masked.append(line)
    return masked


def run_session(commands: list[str], env: dict[str, str]) -> str:
    """Each command echoed after ``$ `` and run, in one bash; ``$?`` is the command's status."""
    script = ["exec 2>&1"]
    for command in commands:
        script.append(f"printf '%s\\n' {shlex.quote('$ ' + command)}")
        script.append(command.replace("$?", "$__status"))
        script.append("__status=$?")
    done = subprocess.run(["bash", "-c", "\n".join(script)], env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    return done.stdout


def test_the_sandbox_and_cli_session_in_the_docs_are_what_the_code_prints() -> None:
    text = PAGE.read_text()
    lines = text.splitlines()
    (sandbox_start, sandbox_end), (start, end) = console_blocks(text)[:2]
    started_with = lines[sandbox_start]
    argv = shlex.split(started_with.removeprefix("$ "))
    assert argv[:3] == SANDBOX and "--seed" in argv, "the page starts the seeded sandbox first"
    shown = lines[start:end]
    commands = [line[2:] for line in shown if line.startswith("$ ")]
    assert len(commands) >= 5, "the session shows a few commands"

    sandbox = SandboxProcess.start(argv[3:])
    try:
        printed = sandbox.lines()
        assert [c for c in commands if c in sandbox.commands()] == sandbox.commands(), \
            "the session runs the commands the sandbox prints, in that order"
        output = run_session(commands, shell_env(sandbox.env()))
    finally:
        sandbox.stop()
    if os.environ.get("UPDATE_DOCS") == "1":
        PAGE.write_text("\n".join(lines[:sandbox_start + 1] + printed + lines[sandbox_end:start]
                                  + output.splitlines() + lines[end:]) + "\n")
        return
    assert mask("\n".join(printed)) == mask("\n".join(lines[sandbox_start + 1:sandbox_end]))
    assert mask(output) == mask("\n".join(shown))
