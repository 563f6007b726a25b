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

import ensurepip
import os
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
from packaging.version import Version

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


def test_a_clone_installs_from_its_git_url_with_the_pip_python_ships(tmp_path: Path) -> None:
    """docs/real-gcp.md#1-install: with the pip a new venv gets (Python 3.11: 23.2.1), a local
    clone's git URL works as ``git+file://localhost/PATH``; before pip 24.1, ``git+file:///PATH``
    is refused as the page quotes. The installed metadata says what the product is (issue 24)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=300,
                   capture_output=True)
    folder = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(folder)  # ensurepip: the pip this Python ships
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}

    def pip(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(folder / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args],
                              capture_output=True, text=True, timeout=_INSTALL_TIMEOUT_S, env=env, cwd=tmp_path)

    shipped = Version(ensurepip.version())
    assert pip("--version").stdout.startswith(f"pip {shipped} ")

    without_host = pip("install", "--no-deps", f"pulumi-dicom-jobs @ git+file://{clone}")
    if shipped < Version("24.1"):
        assert without_host.returncode != 0
        assert f"ERROR: Invalid requirement: 'pulumi-dicom-jobs @ git+file://{clone}'" in without_host.stderr
        assert "It looks like a path." in without_host.stderr
    installed = pip("install", "--no-deps", f"pulumi-dicom-jobs @ git+file://localhost{clone}")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    shown = subprocess.run([str(folder / "bin" / "python"), "-c", (
        "import importlib.metadata as m; d = m.metadata('pulumi-dicom-jobs'); "
        "print(d['Summary']); print(d['Author']); print(d['License-Expression'])")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    project = tomllib.loads((clone / "pyproject.toml").read_text())["project"]  # the clone is HEAD, as committed
    assert shown.stdout.splitlines() == [project["description"], project["authors"][0]["name"], project["license"]]
