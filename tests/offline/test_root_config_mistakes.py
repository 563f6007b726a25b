"""Mistakes in the root program's stack config, as ``pulumi-offline up`` shows them (issue 24).

Every mistake at once, one line each, naming the key as it is written in
``Pulumi.<stack>.yaml`` and what to write instead; no traceback (the root
program raises ``pulumi.RunError``, which the Python language host reports
as its message alone) and no resource created.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from support.programs import link_plugin_folders

ROOT = Path(__file__).resolve().parents[2]
BASE = {"gcp:project": "local-project", "dicom-environment:dataset": "imaging", "dicom-environment:store": "main"}
ALLOWED = "blob_storage_class, bucket, create_bucket, max_failed_instances, name, pattern, timeout_seconds, triggers"


def _up_with(tmp_path: Path, config: dict) -> tuple[subprocess.CompletedProcess, Path]:
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    link_plugin_folders(ROOT, tmp_path)  # the plugin folder Pulumi.yaml names, which must exist
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": {**BASE, **config}}))
    done = subprocess.run([sys.executable, "-m", "pulumi_offline", "up", "--stack", "dev", "."], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    return done, tmp_path


def _error_lines(done: subprocess.CompletedProcess) -> list[str]:
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output and "ValueError" not in output, output
    lines = output[output.index("error: "):].rstrip("\n").splitlines()
    # What follows the program's message is the engine's line for the preview `up` runs first
    # (deployment_executor.go reportExecResult), then the summary.
    return lines[:lines.index("    error: preview failed")]


def _nothing_created(directory: Path) -> None:
    # The preview `up` runs first failed, so no update started and no state was written (a saved
    # state with no resources would say the same).
    saved = directory / ".pulumi-offline" / "dev.json"
    assert not saved.exists() or json.loads(saved.read_text())["resources"] == []


def test_a_misspelt_key_is_one_line_that_suggests_the_right_one(tmp_path: Path) -> None:
    done, directory = _up_with(tmp_path, {"dicom-environment:imports": [
        {"name": "ct", "bucket": "scans", "patern": "ct/**.dcm"}]})
    assert _error_lines(done) == [
        "error: config mistake in Pulumi.dev.yaml (Pulumi.example.yaml shows every key): "
        "dicom-environment:imports[0] (ct): unknown key 'patern' (did you mean 'pattern'?); allowed: " + ALLOWED]
    _nothing_created(directory)


def test_imports_written_as_a_mapping_names_that_cause(tmp_path: Path) -> None:
    done, directory = _up_with(tmp_path, {"dicom-environment:imports": {"name": "ct", "bucket": "scans"}})
    assert _error_lines(done) == [
        "error: config mistake in Pulumi.dev.yaml (Pulumi.example.yaml shows every key): "
        "dicom-environment:imports must be a list of entries, each starting with '- ', but it is a mapping "
        "(keys bucket, name): put '- ' before its first key ('- name: ...')"]
    _nothing_created(directory)


def test_every_mistake_is_listed_at_once(tmp_path: Path) -> None:
    done, directory = _up_with(tmp_path, {
        "dicom-environment:job_provider": "plugins",
        "dicom-environment:imports": [{"name": "ct", "bucket": "scans"}, "mr"],
        "dicom-environment:exports": [{"name": "png", "kind": "gcs"}, {"name": "meta", "kind": "bq"},
                                      {"name": "ct", "kind": "gcs", "bucket": "out"}]})
    assert _error_lines(done) == [
        "error: 5 config mistakes in Pulumi.dev.yaml (Pulumi.example.yaml shows every key):",
        "    dicom-environment:job_provider must be 'plugin' or 'dynamic', got 'plugins'",
        "    dicom-environment:imports[1] must be a mapping of keys ('name: ...', 'bucket: ...'), got 'mr'",
        "    dicom-environment:exports[0] (png): missing bucket",
        "    dicom-environment:exports[1] (meta): kind must be one of bigquery, gcs, got 'bq'",
        "    job names must be unique across dicom-environment:imports and exports: ct"]
    _nothing_created(directory)
