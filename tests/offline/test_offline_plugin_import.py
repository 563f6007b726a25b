"""``pulumi-offline import`` of a job the real plugin ran, by the import id docs/plugin.md documents.

End to end: an import job runs on the local emulator stack through the
``dicom-jobs`` plugin started from its source folder ``provider/`` (as the
root ``Pulumi.yaml`` names it); a fresh stack then adopts that operation with
``pulumi-offline import dicom-jobs:index:DicomImportJob NAME
'OPERATION?dicomStore=..&gcsSource.uri=..'`` (pulumi/pulumi
``pkg/resource/deploy/import.go`` ``importResources``, ``step.go``
``ImportStep.Apply``; ``--protect`` on by default,
``pkg/cmd/pulumi/operations/import.go``). A program declaring the same job
then previews no change, ``destroy`` refuses the protected job in the
engine's words (``step.go`` ``deleteProtectedError``) and ``refresh``
(``step.go`` ``RefreshStep.Apply``) keeps the inputs the import recorded.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_offline.display import Display
from pulumi_offline.engine import protected_delete_message, run
from recorder_support import set_plugin_path
from support.programs import by_name, make_program, state_of, write_config
from support.workspace import Workspace

pytestmark = pytest.mark.slow

PLUGIN_SOURCE = Path(__file__).resolve().parents[2] / "provider"
JOB_TYPE = "dicom-jobs:index:DicomImportJob"


def _run(command: str, program: Path, stack: str):
    out = io.StringIO()
    result = run(command, program, stack=stack, display=Display(out))
    result.text = out.getvalue()  # type: ignore[attr-defined]
    return result


def test_a_job_the_plugin_ran_is_imported_by_its_id_then_unchanged_protected_and_refreshed(tmp_path,
                                                                                          env: Workspace):
    env.upload_synthetic("in", 2)
    uri = env.gs("in/**.dcm")
    config = {"store": env.store, "uri": uri}
    program = make_program(tmp_path, "adopted", config, stack="ran")
    set_plugin_path(program, "dicom-jobs", PLUGIN_SOURCE)
    ran = _run("up", program, "ran")
    assert ran.ok and ran.counts == {"create": 1}, ran.text
    operation = ran.outputs["operation"]

    # A fresh stack of the same program adopts the operation, from the command line as a user types it.
    write_config(program, config, "fresh")
    import_id = f"{operation}?dicomStore={env.store_id}&gcsSource.uri={uri}"
    done = subprocess.run([sys.executable, "-m", "pulumi_offline", "import", JOB_TYPE, "scans", import_id,
                           str(program), "--stack", "fresh"], capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "imported" in done.stdout and "warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    adopted = by_name(state_of(program, "fresh"))["scans"]
    created = by_name(state_of(program, "ran"))["scans"]
    assert adopted["protect"] is True and adopted["id"] == created["id"]
    assert adopted["outputs"]["successCount"] == created["outputs"]["successCount"] == 2
    assert len(env.operations()) == 1  # the import read the operation, it started nothing

    # The program declaring the same job: nothing to do.
    plan = _run("preview", program, "fresh")
    assert plan.ok and plan.counts == {"same": 1}, plan.text

    # Protected: destroy's preview refuses it in the engine's words, nothing is deleted.
    urn = adopted["urn"]
    refused = _run("destroy", program, "fresh")
    assert not refused.ok and refused.errors[-1] == "preview failed", refused.errors
    assert f"{JOB_TYPE} (scans): {protected_delete_message(urn)}" in refused.errors, refused.errors
    assert by_name(state_of(program, "fresh"))["scans"] == adopted

    # Refresh reads the operation again and keeps the inputs the import recorded.
    refreshed = _run("refresh", program, "fresh")
    assert refreshed.ok, refreshed.text
    after = by_name(state_of(program, "fresh"))["scans"]
    assert after["inputs"] == adopted["inputs"] and after["protect"] is True
    assert after["outputs"]["successCount"] == 2
    assert len(env.operations()) == 1
