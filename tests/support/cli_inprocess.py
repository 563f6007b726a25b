"""The ``dicom-jobs`` CLI in process (click's runner) against a scripted API, on the fake clock.

Why: the subprocess tests (support.cli) drive the CLI as a user does, against
the emulator; these runs are fast enough to pin an exit code for every API
answer at every request a job makes, and to run under ``make mutate``. The
product is not changed: its client is the one the CLI makes, pointed at the
scripted API as at an emulator; only its default ``sleep`` and the job
layer's clock are the fake clock's, so a retry's pause, a settle or a
120-second permission window passes at once.

:func:`fast_clock` installs that clock (for the rest of the test);
:func:`ctrl_c_at_the_first_pause` makes the first pause a Ctrl-C;
:func:`run_cli` runs one command with ``--json --no-progress`` and returns its
exit code, its ``--json`` document and everything it printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pytest
from click.testing import CliRunner

from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.cli.main import cli
from .clock import FakeClock, install_in_job_layer
from .scripted import ScriptedApi

__all__ = ["CliRun", "fast_clock", "ctrl_c_at_the_first_pause", "run_cli"]

#: The commands that show no progress (and take no ``--no-progress``).
_NO_PROGRESS_FLAG = ("status", "cancel")


@dataclass
class CliRun:
    """One command's end: exit code, ``--json`` document (None without one), all it printed."""

    exit_code: int
    data: Optional[dict]
    output: str
    api: ScriptedApi

    @property
    def state(self) -> Optional[str]:
        return self.data["state"] if self.data else None


def fast_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The fake clock as the job layer's clock and as every new client's default ``sleep``."""
    clock = install_in_job_layer(monkeypatch)
    monkeypatch.setitem(HealthcareClient.__init__.__kwdefaults__, "sleep", clock.sleep)
    return clock


def ctrl_c_at_the_first_pause(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> list[float]:
    """Every new client's first pause raises KeyboardInterrupt (Ctrl-C while waiting); later
    ones pass on ``clock``. Returns the pauses asked for so far (empty: none was)."""
    asked: list[float] = []

    def sleep(seconds: float) -> None:
        asked.append(seconds)
        if len(asked) == 1:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    monkeypatch.setitem(HealthcareClient.__init__.__kwdefaults__, "sleep", sleep)
    return asked


def _json_document(output: str) -> Optional[dict]:
    """The ``--json`` document: the JSON object that starts a line (stderr may be mixed in)."""
    for start in (i for i, line in enumerate(output.splitlines()) if line.startswith("{")):
        text = "\n".join(output.splitlines()[start:])
        try:
            value, _end = json.JSONDecoder().raw_decode(text)
        except ValueError:
            continue
        return value
    return None


def run_cli(monkeypatch: pytest.MonkeyPatch, routes: dict, *args: str, as_json: bool = True,
            env: Optional[dict[str, str]] = None) -> CliRun:
    """``dicom-jobs ARGS --json --no-progress`` in process against ``routes`` (a ScriptedApi's;
    ``--no-progress`` where the command takes it).

    ``env``: variables set for the run; ``HEALTHCARE_EMULATOR_HOST`` points at the script
    unless ``env`` sets it (to ``""`` for the real-credentials path with ``--endpoint``).
    """
    with ScriptedApi(routes) as api:
        monkeypatch.setenv("HEALTHCARE_EMULATOR_HOST", api.host)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value.replace("{url}", api.url))
        argv = [arg.replace("{url}", api.url) for arg in args]
        argv += ["--json"] if as_json else []
        argv += [] if args[0] in _NO_PROGRESS_FLAG else ["--no-progress"]
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    # ``output`` holds stdout and stderr as a terminal shows them (click 8.1 and 8.2 alike)
    return CliRun(result.exit_code, _json_document(result.output), result.output, api)
