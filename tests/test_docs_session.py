"""The ``dicom-jobs`` session shown in docs/cli.md is what the code prints today.

The test sets the local stack up as the page's prose says, runs the page's
``$ `` commands in one bash session (outside a terminal, as in a CI log) and
compares the output with the page, after masking what changes from run to
run: operation ids, ports, durations and the timing-dependent progress lines.
A message that drifts from the page fails here.

To refresh the page from the code after a deliberate change of the output:
``UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_docs_session.py``
(the block is rewritten with the new run; review the diff).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from healthcare_emulator import sampledata

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "cli.md"
SECTION = "## A session"
BEARER = {"Authorization": "Bearer docs-session"}
STORE = "projects/local-project/locations/us-central1/datasets/demo/dicomStores/ct"

pytestmark = pytest.mark.slow


def session_block(text: str) -> tuple[int, int]:
    """Line span (start, end) of the console block under the session heading."""
    lines = text.splitlines()
    start = lines.index(SECTION)
    opening = next(i for i in range(start, len(lines)) if lines[i].startswith("```console"))
    closing = next(i for i in range(opening + 1, len(lines)) if lines[i].startswith("```"))
    return opening + 1, closing


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


@pytest.fixture
def documented_setup(stack, emulator, gcs_client) -> dict[str, str]:
    """Dataset ``demo``, store ``ct``, buckets ``scans-demo`` and ``renders-demo``, 0.1 s per instance."""
    parent = f"{stack.healthcare_url}/v1/projects/local-project/locations/us-central1/datasets"
    requests.post(f"{parent}?datasetId=demo", headers=BEARER, timeout=10).raise_for_status()
    requests.post(f"{parent}/demo/dicomStores?dicomStoreId=ct", headers=BEARER, timeout=10).raise_for_status()
    scans = gcs_client.lookup_bucket("scans-demo") or gcs_client.create_bucket("scans-demo")
    if gcs_client.lookup_bucket("renders-demo") is None:
        gcs_client.create_bucket("renders-demo")
    for index, data in enumerate(sampledata.synthetic_instances(40, per_study=10)):
        scans.blob(f"in/{index:04d}.dcm").upload_from_string(data)
    scans.blob("bad/good.dcm").upload_from_string(next(sampledata.synthetic_instances(1)))
    scans.blob("bad/broken.dcm").upload_from_string(sampledata.broken_file())
    emulator.post("config", {"instanceDelaySeconds": 0.1})
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, **stack.env(), "PATH": path, "NO_COLOR": "1", "STORE": STORE}
    env.pop("GOOGLE_OAUTH_ACCESS_TOKEN", None)
    return env


def test_the_cli_session_in_the_docs_is_what_the_code_prints(documented_setup) -> None:
    text = PAGE.read_text()
    assert f"`STORE={STORE}`" in text, "the page must say which store the session uses"
    start, end = session_block(text)
    shown = text.splitlines()[start:end]
    commands = [line[2:] for line in shown if line.startswith("$ ")]
    assert len(commands) >= 5, "the session shows a few commands"
    output = run_session(commands, documented_setup)
    if os.environ.get("UPDATE_DOCS") == "1":
        lines = text.splitlines()
        PAGE.write_text("\n".join(lines[:start] + output.splitlines() + lines[end:]) + "\n")
        return
    assert mask(output) == mask("\n".join(shown))
