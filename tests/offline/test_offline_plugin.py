"""pulumi-offline drives the dicom-jobs provider plugin as the Pulumi engine does.

``dicom-jobs:index:*`` resources go to a ``pulumi-resource-dicom-jobs``
process started with the address of the engine's own gRPC service; its
ephemeral status messages show in the resource's row while the job waits
and are gone from the finished screen; Ctrl-C sends ``Cancel``; a protected
resource blocks ``destroy`` with the engine's message. Each run is
``pulumi-offline`` itself, in a pseudo-terminal where the display matters.
"""

from __future__ import annotations

import io
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from healthcare_emulator.sampledata import synthetic_instance
from healthcare_emulator.waiting import poll
from pulumi_offline.display import Display
from pulumi_offline.engine import StepError, go_duration_seconds, protected_delete_message, run
from support.cli import PtyRun
from support.emulator import HealthcareApi
from recorder_support import set_plugin_path
from support.programs import by_name, make_program, state_of
from support.terminal import screen

OFFLINE = (sys.executable, "-m", "pulumi_offline")
PLUGIN_TYPES = {"import": "dicom-jobs:index:DicomImportJob", "export": "dicom-jobs:index:DicomExportJob"}


def _jobs_program(tmp_path, unique, *, face: str, files: int = 4, **config):
    paths = []
    for i in range(files):
        path = tmp_path / f"f{i}.dcm"
        path.write_bytes(synthetic_instance(seed=30 + i))
        paths.append(str(path))
    names = {"source": f"src-{unique}", "exports": f"exp-{unique}", "dataset": f"ds-{unique}",
             "store": f"st-{unique}"}
    program = make_program(tmp_path, "jobs", {"gcp:project": "local-project", "names": names, "files": paths,
                                              "face": face, **config})
    # The plugin's folder, as a project names it (this venv's bin holds pulumi-resource-dicom-jobs).
    set_plugin_path(program, "dicom-jobs", Path(sys.executable).parent)
    return program


def _update_section(lines: list[str]) -> list[str]:
    """What a screen shows from ``Updating (...)`` on (``up`` prints its preview first)."""
    starts = [i for i, line in enumerate(lines) if line.startswith("Updating (")]
    return lines[starts[-1]:] if starts else lines


def ctrl_c(terminal: PtyRun) -> None:
    """Ctrl-C on a terminal: SIGINT to its whole foreground process group, not to one process."""
    os.killpg(terminal.proc.pid, signal.SIGINT)


def _import_operations(emulator) -> list[dict]:
    return [op for op in emulator.get("operations")["operations"] if "gcsSource" in (op.get("request") or {})]


def _rows(text: str, name: str) -> list[str]:
    """The display's lines about job ``name`` (its running rows and its result), as written, in order."""
    written = re.sub(r"\x1b\[\d*[A-Za-z]|\r", "\n", text)
    return [line.rstrip() for line in written.splitlines()
            if re.search(rf"(dicom-jobs:index|dynamic/dicom-jobs):Dicom\w+Job\s+{name}\s", line)]


def test_plugin_program_up_with_iam_enforced_shows_status_in_place(tmp_path, unique, emulator, stack):
    program = _jobs_program(tmp_path, unique, face="plugin")
    emulator.post("config", {"instanceDelaySeconds": 0.6})  # each job: a few seconds

    terminal = PtyRun.start("up", str(program), command=OFFLINE)
    terminal.expect(" done, ", deadline_s=120)  # the provider's first status message, in the import's row
    code = terminal.finish(deadline_s=180)
    raw, final = terminal.text, _update_section(screen(terminal.text))

    assert code == 0, raw
    for name, type_ in PLUGIN_TYPES.items():
        rows = _rows(raw, name)
        running = [row for row in rows if " creating (" in row]
        done = [i for i, row in enumerate(rows) if re.search(r" created \(\d+\.\ds\)$", row)]
        # the status came from the provider: its operation, done/total counters, in the job's own row
        assert any(re.search(r"creating \(\d+s\) operations/\d+: \d+/(\d+|\?) done, \d+ failed", row)
                   for row in running), rows
        # the total came from the operation's counters; which count the last row shows is timing:
        # a snapshot within a second of the one before is not sent, the final 4/4 included
        # (pulumi_dicom_jobs.plugin.engine_log, MIN_INTERVAL_SECONDS; the create's result follows)
        assert any(re.search(r"operations/\d+: [0-4]/4 done, 0 failed", row) for row in running), rows
        assert done and rows.index(running[0]) < done[0], rows
        assert [row for row in final if f" {name} " in row] == [rows[done[0]]], final
    assert not [line for line in final if " creating (" in line or " done, " in line], final
    assert "    + 12 created" in final, "\n".join(final)
    resources = by_name(state_of(program))
    assert {name: resources[name]["type"] for name in PLUGIN_TYPES} == PLUGIN_TYPES
    assert resources["import"]["outputs"]["successCount"] == 4
    assert emulator.get("config")["enforceIam"] is True


def test_dynamic_job_rows_show_only_their_elapsed_time(tmp_path, unique, emulator, stack):
    program = _jobs_program(tmp_path, unique, face="dynamic", files=2)
    emulator.post("config", {"instanceDelaySeconds": 0.6})

    terminal = PtyRun.start("up", str(program), command=OFFLINE)
    code = terminal.finish(deadline_s=180)
    raw, final = terminal.text, screen(terminal.text)

    assert code == 0, raw
    rows = _rows(raw, "import")
    running = [row for row in rows if " creating (" in row]
    assert running and all(re.search(r" creating \(\d+s\)$", row) for row in running), rows
    assert not [line for line in final if " creating (" in line], final
    # Off a terminal (a pipe, a log) a row without status text is never printed.
    again = io.StringIO()
    assert run("up", program, display=Display(again)).ok
    assert " creating (" not in again.getvalue() and "success=" not in again.getvalue()


def test_ctrl_c_sends_cancel_and_the_plugin_create_ends_cancelled(tmp_path, unique, emulator, stack):
    program = _jobs_program(tmp_path, unique, face="plugin", files=3)
    emulator.post("config", {"instanceDelaySeconds": 60})  # minutes of work: only Cancel ends it early

    terminal = PtyRun.start("up", str(program), command=OFFLINE)
    terminal.expect(" done, ", deadline_s=120)  # the import waits in the plugin
    [operation] = _import_operations(emulator)
    assert not operation["done"]
    ctrl_c(terminal)  # the plugin runs in its own process group: only the engine gets it, and sends Cancel
    code = terminal.finish(deadline_s=60)
    raw, final = terminal.text, "\n".join(screen(terminal.text))

    assert code != 0, raw
    assert "^C received; cancelling. If you would like to terminate immediately, press ^C again." in raw
    api = HealthcareApi(stack.healthcare_url)
    ended = poll(lambda: api.operation(operation["name"]) if api.operation(operation["name"]).get("done") else None,
                 deadline_s=30, what="the cancelled operation to end")
    assert ended["error"]["code"] == 1, ended  # CANCELLED: the plugin asked the API to cancel it
    # the plugin's answer, under the job in Diagnostics, names the operation it cancelled
    block = final[final.index("  dicom-jobs:index:DicomImportJob (import):"):]
    assert operation["name"].rsplit("/", 1)[-1] in block.split("\n\n")[0], final
    assert "Traceback" not in raw and "Channel closed" not in raw, raw
    assert "export" not in by_name(state_of(program)) and "import" not in by_name(state_of(program))
    assert len(_import_operations(emulator)) == 1  # nothing started after the cancel


def test_custom_timeouts_reach_the_plugin_as_the_create_timeout(tmp_path, unique, emulator, stack):
    program = _jobs_program(tmp_path, unique, face="plugin", files=2, import_create_timeout="2s")
    emulator.post("config", {"instanceDelaySeconds": 60})

    result = run("up", program, display=Display(io.StringIO()))

    assert not result.ok
    text = "\n".join(result.errors)
    assert "dicom-jobs:index:DicomImportJob (import): " in text and "timeout_seconds=2" in text, text
    [operation] = _import_operations(emulator)
    api = HealthcareApi(stack.healthcare_url)
    assert poll(lambda: api.operation(operation["name"]).get("done"), deadline_s=30, what="the cancelled operation")


@pytest.mark.parametrize("face", ["plugin", "dynamic"])
def test_protected_resource_blocks_destroy_with_the_engines_message(tmp_path, unique, emulator, stack, face):
    program = _jobs_program(tmp_path, unique, face=face, files=1, protect_import=True)
    assert run("up", program, display=Display(io.StringIO())).ok
    saved = by_name(state_of(program))
    urn, type_ = saved["import"]["urn"], saved["import"]["type"]
    refusal = f"{type_} (import): {protected_delete_message(urn)}"

    # step.go DeleteStep.Apply refuses before it looks at DryRun: destroy's preview fails, nothing is deleted
    result = run("destroy", program, display=Display(io.StringIO()))
    assert not result.ok and refusal in result.errors and result.errors[-1] == "preview failed", result.errors
    assert set(by_name(state_of(program))) == set(saved)

    # Without the preview, the refusal does not stop the other deletes (step_executor.go cancelDueToError),
    # but what the protected job depends on stays (deployment_executor.go performPostSteps).
    result = run("destroy", program, display=Display(io.StringIO()), skip_preview=True)
    assert not result.ok and refusal in result.errors and result.errors[-1] == "update failed", result.errors
    # step.go deleteProtectedError, word for word
    assert protected_delete_message(urn) == (
        f'resource "{urn}" cannot be deleted\nbecause it is protected. To unprotect the resource, either '
        "remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`, or use the "
        f"command:\n`pulumi state unprotect '{urn}'`")
    left = by_name(state_of(program))
    assert {"import", "source", "reader", "store", "hc"} <= set(left) and "export" not in left
    assert left["import"]["protect"] is True


def test_custom_timeouts_are_read_as_go_durations():
    assert go_duration_seconds("1h30m") == 5400 and go_duration_seconds("90s") == 90
    assert go_duration_seconds("1.5m") == 90 and go_duration_seconds("250ms") == 0.25
    assert go_duration_seconds("") is None
    with pytest.raises(StepError, match="not a duration"):
        go_duration_seconds("5 minutes")


URN = "urn:pulumi:dev::p::dicom-jobs:components:DicomGcsImport$dicom-jobs:index:DicomImportJob::ct"
TYPE = "dicom-jobs:index:DicomImportJob"


def test_display_off_a_terminal_prints_a_row_per_status_change_and_nothing_after_the_step():
    out = io.StringIO()
    display = Display(out, interactive=False)
    display.begin(URN, "create", TYPE, "ct")
    for text in ("operations/1: 0/4 done", "operations/1: 0/4 done", "operations/1: 2/4 done"):
        display.status(URN, text)
    display.step("create", TYPE, "ct", preview=False, seconds=2.0, urn=URN)
    display.status(URN, "operations/1: late")

    rows = [line.split(") ", 1)[1] for line in out.getvalue().splitlines() if " creating (" in line]
    assert rows == ["operations/1: 0/4 done", "operations/1: 2/4 done"]
    assert "late" not in out.getvalue() and out.getvalue().rstrip().endswith("created (2.0s)")


def test_display_on_a_terminal_redraws_rows_in_place_and_lists_kept_messages_at_the_end():
    out = io.StringIO()
    display = Display(out, interactive=True)
    display.header("Updating", "p", "dev")
    display.begin(URN, "create", TYPE, "ct")
    display.status(URN, "operations/1: 1/4 done")
    display.line("  +  gcp:storage/bucket:Bucket  other  created (0.0s)")  # a line while the row is drawn
    display.status(URN, "operations/1: 3/4 done")
    display.diagnostic(URN, "warning", "a real warning")
    display.diagnostic("", "info", "about the whole update")
    display.step("create", TYPE, "ct", preview=False, seconds=3.0, urn=URN)
    display.summary({"create": 2}, preview=False, seconds=3.0, outputs={})

    assert "operations/1: 1/4 done" in out.getvalue() and "operations/1: 3/4 done" in out.getvalue()
    final = screen(out.getvalue())
    assert not [line for line in final if "creating (" in line], final
    assert final[:3] == ["Updating (p/dev):", "  +  gcp:storage/bucket:Bucket  other  created (0.0s)",
                         f"  +  {TYPE:<50} {'ct':<30} created (3.0s)"], final
    at = final.index("Diagnostics:")
    # grouped by resource; a message about no resource under the stack (pkg/backend/display/progress.go);
    # an info carries no prefix, a warning its own (pkg/engine/eventsink.go StringifyDiag)
    assert final[at + 1:at + 7] == [f"  {TYPE} (ct):", "    warning: a real warning", "",
                                    "  pulumi:pulumi:Stack (p-dev):", "    about the whole update", ""], final
