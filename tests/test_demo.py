"""`make demo` runs in CI: its report must hold the expected counts."""

from __future__ import annotations

import collections
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_offline.demo import (BQ_DATASET, EXPORT_BUCKET, RENDER_BUCKET, SUBSET_BUCKET, demo_config, run_demo,
                                 write_demo_config)
from pulumi_offline.engine import open_project
from support.cli import PtyRun
from support.programs import link_plugin_folders
from support.terminal import screen

ROOT = Path(__file__).resolve().parents[1]


def _root_program_copy(target: Path) -> Path:
    """A copy of the root program, so a test never touches the checkout's demo state."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, target / name)
    link_plugin_folders(ROOT, target)  # the plugin folder Pulumi.yaml names, which must exist
    return target


@pytest.mark.slow
def test_demo_report_holds_expected_counts(tmp_path: Path) -> None:
    _root_program_copy(tmp_path)
    out = io.StringIO()
    report = run_demo(tmp_path, out=out)
    text = out.getvalue()

    assert report.ok
    # 3 pydicom files + a generated study of 6; the broken file is the one tolerated failure.
    assert report.stored_instances == 9
    archive = report.job_outputs["imports"]["hospital-archive"]
    assert (archive["success_count"], archive["failure_count"]) == (9, 1)
    # Whole numbers in the stack outputs, as the plugin's schema declares them (not 9.0).
    assert {type(archive["success_count"]), type(archive["failure_count"])} == {int}
    assert [e["resource"] for e in report.sample_errors] == [
        "gs://demo-hospital-archive/incoming/broken/not-really-dicom.dcm"]
    # DICOM copies one per instance; PNG one per frame (rtdose.dcm has 15 frames).
    assert len(report.exported_objects[EXPORT_BUCKET]) == 9
    assert all(name.endswith(".dcm") for name in report.exported_objects[EXPORT_BUCKET])
    assert len(report.exported_objects[RENDER_BUCKET]) == 2 + 6 + 15
    assert all(name.endswith(".png") for name in report.exported_objects[RENDER_BUCKET])
    # The filter file names only the generated study.
    assert len(report.exported_objects[SUBSET_BUCKET]) == 6
    assert report.bigquery_row_count == 9 and report.bigquery_rows
    assert report.second_run_counts == {}
    assert "24 created" in text and "24 unchanged" in text, text
    # The jobs ran on the provider plugin, and its own status messages reached their rows.
    for job in ("hospital-archive", "dicom-copy", "png-renders", "metadata", "generated-study-only"):
        assert re.search(rf"dicom-jobs:index:Dicom\w+Job\s+{job}\s+created \(", text), text
        assert re.search(rf"dicom-jobs:index:Dicom\w+Job\s+{job}\s+creating \(\d+s\) operations/\d+: "
                         rf"\d+/(\d+|\?) done, \d+ failed", text), text
    assert "pulumi-python:dynamic" not in text
    assert BQ_DATASET in text
    _assert_docs_show_this_run(text)
    _assert_the_printed_command_is_the_one_that_ran(text)


def _assert_the_printed_command_is_the_one_that_ran(text: str) -> None:
    """A user who copies the ``$ pulumi-offline up`` line the demo printed runs the demo's stack:
    its config is where that command finds it. Run after the demo (its emulators are stopped, and
    the stack's resources are all unchanged, so nothing reaches them), it is the second ``up``."""
    commands = {line[2:].split("  #")[0].strip() for line in text.splitlines()
                if line.startswith("$ pulumi-offline ")}
    assert len(commands) == 1, commands
    argv = shlex.split(commands.pop())
    env = {key: value for key, value in os.environ.items() if not key.endswith("_EMULATOR_HOST")}
    again = subprocess.run([str(Path(sys.executable).parent / argv[0]), *argv[1:]], capture_output=True, text=True,
                           env={**env, "NO_COLOR": "1"}, timeout=600, stdin=subprocess.DEVNULL)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Resources:\n    24 unchanged" in again.stdout, again.stdout


def test_the_demo_writes_its_config_where_its_command_finds_it_and_never_over_a_users_file(tmp_path: Path) -> None:
    _root_program_copy(tmp_path)
    written = write_demo_config(tmp_path)
    assert written == tmp_path / "Pulumi.demo.yaml"
    _project, config = open_project(tmp_path, "demo")  # what `pulumi-offline up --stack demo DIR` reads
    assert config["gcp:project"] == demo_config()["gcp:project"]
    assert json.loads(config["dicom-environment:exports"]) == demo_config()["dicom-environment:exports"]
    assert write_demo_config(tmp_path) == written  # its own file: rewritten

    written.write_text("config:\n  gcp:project: mine\n")
    with pytest.raises(RuntimeError, match=r"Pulumi\.demo\.yaml exists and was not written by the demo"):
        write_demo_config(tmp_path)
    assert written.read_text() == "config:\n  gcp:project: mine\n"


def _masked(line: str) -> str:
    """A demo output line with what varies between runs masked."""
    line = re.sub(r"operations/\d+", "operations/ID", line)
    line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line)
    return re.sub(r"\d+\.\ds\b", "N.Ns", line)


def _assert_docs_show_this_run(text: str) -> None:
    """Every line docs/offline-engine.md shows of `make demo` is printed by this run.

    Compared as a multiset (parallel steps finish in any order); the page's
    commands, marked cuts and the rows of running jobs (the provider's status
    messages: timing-dependent) are left out.
    """
    page = (ROOT / "docs" / "offline-engine.md").read_text()
    block = re.search(r"## `make demo`.*?```text\n(.*?)```", page, re.S).group(1)
    running_row = re.compile(r"^\s+\+\s+dicom-jobs:index:Dicom\w+Job\s+[\w-]+\s+creating \(\d+s\) ")
    shown = [_masked(line) for line in block.splitlines()
             if line.strip() and not line.startswith(("$ ", "...", "    ...", ".venv/"))
             and not running_row.match(line)]
    printed = collections.Counter(_masked(line) for line in text.splitlines())
    missing = [line for line, count in collections.Counter(shown).items() if printed[line] < count]
    assert missing == [], "docs/offline-engine.md shows lines this run did not print: refresh it from `make demo`"


@pytest.mark.slow
def test_one_ctrl_c_on_a_terminal_cancels_the_running_jobs_names_them_and_saves_the_state(tmp_path: Path) -> None:
    """``make demo`` on a terminal: Ctrl-C is SIGINT to the whole foreground group (make, the demo,
    not the plugin: the engine starts it in a group of its own); the engine sends Cancel, the plugin
    cancels its operations and says which under Diagnostics, the state is saved, no traceback."""
    program = _root_program_copy(tmp_path)
    terminal = PtyRun.start("--program", str(program), "--instance-delay", "30",
                            command=(sys.executable, "-m", "pulumi_offline.demo"))
    terminal.expect(" done, ", deadline_s=240)  # a job's row shows its operation: the jobs wait
    os.killpg(terminal.proc.pid, signal.SIGINT)
    code = terminal.finish(deadline_s=180)
    raw = terminal.text.replace("\r\n", "\n")
    final = "\n".join(screen(terminal.text))

    assert code == 130, raw
    assert "^C received; cancelling. If you would like to terminate immediately, press ^C again." in raw
    state = json.loads((program / ".pulumi-offline" / "demo.json").read_text())
    assert "interrupted: the update was cancelled; the stack's state is saved in " in raw, raw
    saved = {r["urn"].rsplit("::", 1)[-1] for r in state["resources"]}
    assert {"healthcare-dataset", "dicom-store"} <= saved and state["pending_operations"] == [], saved
    jobs = re.findall(r"^  dicom-jobs:index:Dicom\w+Job \(([\w-]+)\):\n    error: (.*)$", final, re.M)
    assert jobs and all("cancel" in message for _, message in jobs), final
    saved_jobs = {r["urn"].rsplit("::", 1)[-1] for r in state["resources"] if r["type"].startswith("dicom-jobs:index:")}
    assert not {name for name, _ in jobs} & saved_jobs  # a cancelled job is not in the state
    assert "Traceback" not in raw and "Channel closed" not in raw and "KeyboardInterrupt" not in raw, raw
