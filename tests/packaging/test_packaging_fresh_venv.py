"""Each distribution installs on its own into a fresh venv and brings only itself.

``pip install .`` (the product alone) must not bring the emulator or the
offline engine, must give a working ``dicom-jobs`` and must declare ranges,
not pins; ``pip install ./emulator`` must give a working
``healthcare-emulator`` without the product or the SDK.

How: the distribution's sources are copied to a temporary folder (so the
build leaves no ``build/`` or ``*.egg-info`` in the worktree) and installed
with this venv's pip into a fresh venv made without pip (``pip --python``).
pip's cache is reused; the only network needed is the package registry
(packages and the build backend).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from support.sources import copy_product

ROOT = Path(__file__).resolve().parents[2]
_INSTALL_TIMEOUT_S = 1200
_IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2 * _INSTALL_TIMEOUT_S)]


class FreshVenv:
    """A venv with nothing installed, and commands run in it with a clean environment."""

    def __init__(self, folder: Path) -> None:
        venv.EnvBuilder(with_pip=False).create(folder)
        self.folder = folder
        self.python = folder / "bin" / "python"
        self.env = {key: value for key, value in os.environ.items()
                    if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}

    def pip_install(self, source: Path) -> None:
        completed = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(self.python), "install", "--quiet", str(source)],
            capture_output=True, text=True, timeout=_INSTALL_TIMEOUT_S, env=self.env, cwd=source,
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr

    def run(self, *argv: str) -> subprocess.CompletedProcess:
        """Run ``argv`` (a console script of the venv, or ``python``) from a neutral folder."""
        program = str(self.python) if argv[0] == "python" else str(self.folder / "bin" / argv[0])
        return subprocess.run([program, *argv[1:]], capture_output=True, text=True, timeout=120,
                              env=self.env, cwd=self.folder)

    def imports(self, module: str) -> bool:
        return self.run("python", "-c", f"import {module}").returncode == 0


def test_product_alone_brings_only_itself_and_declares_ranges(tmp_path: Path) -> None:
    fresh = FreshVenv(tmp_path / "venv")
    source = tmp_path / "src"
    source.mkdir()
    fresh.pip_install(copy_product(source))

    assert not fresh.imports("healthcare_emulator"), "the emulator is its own distribution"
    assert not fresh.imports("pulumi_offline"), "the offline engine is its own distribution"
    assert fresh.imports("pulumi_dicom_jobs.dynamic.providers")

    helped = fresh.run("dicom-jobs", "--help")
    assert helped.returncode == 0, helped.stdout + helped.stderr
    assert "Usage" in helped.stdout

    listed = fresh.run("python", "-c",
                       "import importlib.metadata as m; print('\\n'.join(m.requires('pulumi-dicom-jobs')))")
    assert listed.returncode == 0, listed.stderr
    requires = [line for line in listed.stdout.splitlines() if line.strip()]
    assert requires, "no Requires-Dist at all"
    pinned = [line for line in requires if "==" in line]
    assert not pinned, f"Requires-Dist must be ranges: {pinned}"
    assert all(">=" in line and "<" in line.replace("<=", "") for line in requires), requires
    assert not any(line.lower().startswith("pyyaml") for line in requires)


def test_emulator_alone_brings_neither_the_product_nor_the_sdk(tmp_path: Path) -> None:
    fresh = FreshVenv(tmp_path / "venv")
    source = tmp_path / "emulator"
    shutil.copytree(ROOT / "emulator", source, ignore=_IGNORED)
    fresh.pip_install(source)

    helped = fresh.run("healthcare-emulator", "--help")
    assert helped.returncode == 0, helped.stdout + helped.stderr
    assert "--port" in helped.stdout
    assert fresh.imports("healthcare_emulator.stack")
    assert not fresh.imports("pulumi_dicom_jobs")
    assert not fresh.imports("pulumi_offline")
    assert not fresh.imports("pulumi")
