"""The import contracts hold, and a forbidden import breaks the contract that forbids it.

Why a test: the layer map in ARCHITECTURE.md is only true while something
checks it. The contracts live in pyproject.toml (``[tool.importlinter]``)
and are checked by import-linter's ``lint-imports``, run here so that
``make test`` fails on a broken one. The second test copies the three
packages, adds one forbidden import to the copy, and shows ``lint-imports``
then reports exactly the contracts that forbid it as broken (and every
other one kept): a contract that cannot fail would prove nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
#: Each distribution's package, by the folder it lives in.
PACKAGES = {"pulumi_dicom_jobs": "provider", "healthcare_emulator": "emulator", "pulumi_offline": "offline"}

LAYERS = "The product's layers, top to bottom"
SPEC = "spec is plain data: nothing that does I/O"
NO_JOBS_BELOW = "api and lro know no DICOM job"
FACES = "The faces never import each other"
OFFLINE = "The offline engine imports no product module, and of the emulator only stack and sampledata"


def _contract_names() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [contract["name"] for contract in config["tool"]["importlinter"]["contracts"]]


def _lint(cwd: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    """``lint-imports`` in ``cwd`` (its pyproject.toml): the exit code and each contract's verdict."""
    proc = subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(cwd / "pyproject.toml")],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    # a long contract name may wrap in the report, and some versions colour it even into a
    # pipe: compare without colour codes, with the whitespace collapsed
    report = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr).split())
    verdicts = {}
    for name in _contract_names():
        kept, broken = f"{name} KEPT" in report, f"{name} BROKEN" in report
        assert kept != broken, f"no single verdict for {name!r} in:\n{proc.stdout}{proc.stderr}"
        verdicts[name] = "KEPT" if kept else "BROKEN"
    return proc.returncode, verdicts


def test_the_import_contracts_hold() -> None:
    code, verdicts = _lint(ROOT)
    assert len(verdicts) >= 7
    assert code == 0 and set(verdicts.values()) == {"KEPT"}, verdicts


@pytest.mark.parametrize("module,line,broken", [
    # the cause of issue 23's first finding: rich loaded into the plugin through the CLI's progress
    ("pulumi_dicom_jobs/plugin/engine_log.py", "import pulumi_dicom_jobs.cli.progress", {FACES}),
    ("pulumi_dicom_jobs/spec.py", "import google.auth", {SPEC}),
    ("pulumi_dicom_jobs/lro/status.py", "from pulumi_dicom_jobs.kinds import JobKind", {LAYERS, NO_JOBS_BELOW}),
    ("pulumi_offline/demo.py", "import healthcare_emulator.server", {OFFLINE}),
], ids=["face-imports-face", "spec-imports-google-auth", "lro-knows-job-kinds", "offline-imports-emulator"])
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, line: str,
                                                broken: set[str]) -> None:
    source = tmp_path / "src"
    for package, folder in PACKAGES.items():
        shutil.copytree(ROOT / folder / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    target = source / module
    target.write_text(target.read_text() + f"\n{line}  # added by tests/test_layers.py\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # the copy comes first on the path, ahead of the installed (editable) packages
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")]))}
    code, verdicts = _lint(tmp_path, env)
    assert code != 0
    assert {name for name, verdict in verdicts.items() if verdict == "BROKEN"} == broken
