"""Run the ``dicom-jobs`` CLI the way a user does: a subprocess, with pipes or a terminal.

The CLI always runs as ``python -m pulumi_dicom_jobs.cli`` with the session
stack's environment. ``run_cli`` runs it to completion, ``LineReader`` reads
a running one's output through pipes, ``PtyRun`` gives it a pseudo-terminal
(for the live progress bar and Ctrl-C). Nothing sleeps to wait: every wait
polls with a deadline (:func:`healthcare_emulator.waiting.poll`) or reads
the terminal until a deadline.
"""

from __future__ import annotations

import fcntl
import os
import re
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

from healthcare_emulator.waiting import poll

CLI = [sys.executable, "-m", "pulumi_dicom_jobs.cli"]
#: Seconds per instance (``Workspace.slow``) of an operation that must still be running when a
#: test stops it (cancel, ``--timeout``, Ctrl-C) or looks at it after one or more CLI runs: each
#: run is a Python start, seconds on a loaded machine, and ten instances at this pace outlast
#: several. A cancel ends the operation at once, so the pace costs the test nothing.
OUTLASTING_PACE_S = 2.0
#: Terminal control sequences (colours, cursor moves) of a live display.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def cli_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    env.pop("GOOGLE_OAUTH_ACCESS_TOKEN", None)
    env.update(extra)
    return env


def run_cli(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """Run ``dicom-jobs ARGS`` to completion with pipes (no TTY)."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env=cli_env(**env), stdin=subprocess.DEVNULL)


class LineReader:
    """Collects a running process's stdout/stderr in threads (pipes, no TTY)."""

    def __init__(self, *args: str, **env: str) -> None:
        self.proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, env=cli_env(**env))
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True)]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _pump(stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for(self, text: str, deadline_s: float = 20.0) -> None:
        poll(lambda: text in self.stdout or text in self.stderr or self.proc.poll() is not None,
             deadline_s=deadline_s, what=repr(text))
        assert text in self.stdout + self.stderr, (self.stdout, self.stderr)

    def finish(self, deadline_s: float = 30.0) -> int:
        try:
            code = self.proc.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        for thread in self._threads:
            thread.join(timeout=5)
        return code


@dataclass
class PtyRun:
    """A CLI process whose stdin/stdout/stderr are a pseudo-terminal."""

    proc: subprocess.Popen
    master: int
    buffer: bytearray = field(default_factory=bytearray)

    @classmethod
    def start(cls, *args: str, rows: int = 40, cols: int = 160, command: Sequence[str] = tuple(CLI),
              **env: str) -> "PtyRun":
        """``command ARGS`` (the dicom-jobs CLI unless told) on a ``rows`` x ``cols`` terminal."""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        environment = cli_env(TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows), **env)
        environment.pop("NO_COLOR", None)
        proc = subprocess.Popen([*command, *args], stdin=slave, stdout=slave, stderr=slave,
                                env=environment, start_new_session=True, close_fds=True)
        os.close(slave)
        return cls(proc, master)

    @property
    def text(self) -> str:
        return self.buffer.decode("utf-8", errors="replace")

    def pump(self, timeout: float = 0.1) -> bool:
        """Read what is available; False once the terminal is closed."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child side is closed
            return False
        if not chunk:
            return False
        self.buffer.extend(chunk)
        return True

    def expect(self, text: str, deadline_s: float = 20.0) -> None:
        end = time.monotonic() + deadline_s
        while text not in self.text:
            if time.monotonic() > end or not self.pump():
                raise AssertionError(f"{text!r} never appeared; output so far:\n{self.text}")

    def expect_pattern(self, pattern: str, deadline_s: float = 20.0) -> re.Match:
        """Like :meth:`expect`, for a regular expression (ANSI sequences stripped)."""
        end = time.monotonic() + deadline_s
        while not (found := re.search(pattern, _ANSI.sub("", self.text))):
            if time.monotonic() > end or not self.pump():
                raise AssertionError(f"{pattern!r} never matched; output so far:\n{self.text}")
        return found

    def send(self, data: str) -> None:
        os.write(self.master, data.encode())

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    def finish(self, deadline_s: float = 30.0) -> int:
        end = time.monotonic() + deadline_s
        while self.proc.poll() is None:
            if time.monotonic() > end:
                self.proc.kill()
                raise AssertionError(f"CLI did not exit; output so far:\n{self.text}")
            self.pump()
        while select.select([self.master], [], [], 0.1)[0]:  # drain the rest
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.buffer.extend(chunk)
        os.close(self.master)
        return self.proc.wait(timeout=5)


def op_name_in(text: str) -> Optional[str]:
    match = re.search(r"projects/\S+?/operations/\d+", text)
    return match.group(0) if match else None
