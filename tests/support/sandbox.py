"""``python -m healthcare_emulator.stack --seed`` as a child process, run as a user runs it.

The sandbox tests and the docs session test start the real command, read
what it prints (the environment to export and the commands to paste) and
stop it with a signal, as a user's shell would. Reading stdout happens on a
thread so that every wait polls with a deadline instead of blocking.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from healthcare_emulator.waiting import poll

READY = "# local stack running; Ctrl-C stops it"
_EXPORT = re.compile(r"^export ([A-Z_][A-Z0-9_]*)=(.*)$")
_STARTUP_DEADLINE_S = 180.0  # three servers plus the seed, on a shared machine


def shell_env(printed: dict[str, str]) -> dict[str, str]:
    """A shell that pasted the printed ``export`` lines, with this venv's ``dicom-jobs`` on PATH.

    No real credential leaks in: the emulator variable alone selects it.
    """
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, **printed, "PATH": path, "NO_COLOR": "1"}
    env.pop("GOOGLE_OAUTH_ACCESS_TOKEN", None)
    return env


@dataclass
class SandboxProcess:
    """The running stack and the lines it printed (stdout and stderr)."""

    process: subprocess.Popen
    printed: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, args: list[str]) -> "SandboxProcess":
        """Start ``python -m healthcare_emulator.stack ARGS`` and wait until it is ready."""
        process = subprocess.Popen([sys.executable, "-m", "healthcare_emulator.stack", *args],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        sandbox = cls(process)
        threading.Thread(target=sandbox._read, daemon=True).start()
        try:
            poll(lambda: READY in sandbox.lines(), deadline_s=_STARTUP_DEADLINE_S,
                 what=f"the stack to print {READY!r}", alive=lambda: process.poll() is None)
        except AssertionError as exc:
            sandbox.stop()
            raise AssertionError(f"{exc}\nit printed:\n" + "\n".join(sandbox.lines())) from None
        return sandbox

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._lock:
                self.printed.append(line.rstrip("\n"))

    def lines(self) -> list[str]:
        with self._lock:
            return list(self.printed)

    def env(self) -> dict[str, str]:
        """The ``export`` lines it printed, as a mapping."""
        found = {}
        for line in self.lines():
            match = _EXPORT.match(line)
            if match:
                found[match.group(1)] = " ".join(shlex.split(match.group(2)))
        return found

    def commands(self) -> list[str]:
        """The ``dicom-jobs`` commands it printed to paste."""
        return [line for line in self.lines() if line.startswith("dicom-jobs ")]

    def stop(self, signum: int = signal.SIGTERM, deadline_s: float = 60.0) -> int:
        """Send ``signum`` and wait for the process to exit; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise AssertionError(f"the stack did not exit within {deadline_s:g}s of signal {signum}") from None
