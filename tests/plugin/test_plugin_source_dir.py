"""``provider/`` as the source plugin Pulumi's Python language host installs and runs as it is.

What a user's ``pulumi package add .../provider`` (or a project's
``plugins: providers: - path: provider``) makes the CLI do is done here the
way ``support.language_host`` transcribes it from pulumi/pulumi; the plugin
is then driven over gRPC like any other. The Pulumi CLI itself cannot run
here (docs/plugin.md says what stands in for it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.data import synthetic
from support.language_host import PythonLanguageHost
from support.plugin import generated_python_name, plain, running
from support.sources import ROOT, copy_product
from support.workspace import Workspace

PLUGIN_DIR = ROOT / "provider"
#: The projects of this repository that run their jobs on the plugin, and the path each names.
PROJECTS = {ROOT: "provider", ROOT / "examples" / "yaml-import": "../../provider"}


def _requirement_paths(plugin_dir: Path) -> list[Path]:
    """The local paths ``requirements.txt`` installs, resolved as pip run from ``plugin_dir`` reads them."""
    paths = []
    for line in (plugin_dir / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-e "):
            line = line[3:].strip()
        if line.startswith("."):
            paths.append((plugin_dir / line).resolve())
    return paths


def test_provider_is_a_source_plugin_directory_the_host_runs_as_it_is() -> None:
    host = PythonLanguageHost.load(PLUGIN_DIR)
    assert host.runtime_name == "python"
    assert "main" not in host.manifest, "PluginProject has no main: the host always runs the directory"
    assert (PLUGIN_DIR / "__main__.py").is_file(), "the host runs `python provider ENGINE`"
    assert host.venv == ROOT / ".venv", "the plugin runs in the repository's venv (the one make venv makes)"
    [repository] = _requirement_paths(PLUGIN_DIR)
    assert repository == ROOT and 'name = "pulumi-dicom-jobs"' in (repository / "pyproject.toml").read_text()
    assert not (PLUGIN_DIR / "pyproject.toml").exists(), "a pyproject.toml here would be pip-installed as the plugin"
    assert not (ROOT / "PulumiPlugin.yaml").exists(), \
        "beside Pulumi.yaml, a PulumiPlugin.yaml makes the CLI refuse the directory (LoadBaseProjectFrom)"


@pytest.mark.parametrize("project", sorted(PROJECTS), ids=lambda p: p.name if p != ROOT else "root")
def test_projects_name_the_source_directory_where_the_cli_looks(project: Path) -> None:
    """``plugins.providers[].path``: a directory relative to the project; with no executable in it
    the CLI runs the ``PulumiPlugin.yaml`` there."""
    providers = yaml.safe_load((project / "Pulumi.yaml").read_text())["plugins"]["providers"]
    [entry] = [p for p in providers if p["name"] == "dicom-jobs"]
    assert entry["path"] == PROJECTS[project]
    directory = (project / entry["path"]).resolve()
    assert directory == PLUGIN_DIR and directory.is_dir()
    assert not (directory / "pulumi-resource-dicom-jobs").exists()
    assert (directory / "PulumiPlugin.yaml").is_file()


def test_python_runs_the_directory_from_the_engines_working_directory(stack, tmp_path: Path) -> None:
    """``python provider ENGINE`` with the project as working directory (not ``provider/``)."""
    for _engine, process in running(command=[sys.executable, str(PLUGIN_DIR)], cwd=str(tmp_path)):
        schema = json.loads(process.get_schema().schema)
        assert schema["name"] == "dicom-jobs"
        assert process.plugin_info().version == schema["version"]


@pytest.mark.slow
def test_the_python_host_installs_provider_and_runs_it(stack, env: Workspace, tmp_path: Path) -> None:
    """Install as the host does (venv at the ``virtualenv`` option, ``pip install -r`` from the
    plugin directory), run ``python DIR ENGINE`` from the project's directory, then GetSchema and
    a Create against the emulator."""
    clone = copy_product(tmp_path / "pulumi-dicom-jobs")
    host = PythonLanguageHost.load(clone / "provider")
    assert host.venv == clone / ".venv"
    host.install_dependencies()
    project = tmp_path / "project"
    project.mkdir()
    for index, data in enumerate(synthetic(2)):
        env.upload(f"in/{index}.dcm", data)
    for _engine, process in running(command=host.plugin_command(), cwd=str(project), environ=host.environ()):
        schema = json.loads(process.get_schema().schema)
        assert set(schema["resources"]) == {"dicom-jobs:index:DicomImportJob", "dicom-jobs:index:DicomExportJob"}
        process.configure()
        props = {"dicomStore": env.store, "gcsSource": {"uri": f"gs://{env.bucket.name}/in/**.dcm"}}
        assert list(process.check(props).failures) == []
        created = process.create(props)
        outs = plain(created.properties)
        assert created.id == outs["operationName"] and outs["successCount"] == 2
    _the_generated_python_sdk_installs_beside_the_product(host, generated_python_name(schema), tmp_path / "sdk")


def _the_generated_python_sdk_installs_beside_the_product(host: PythonLanguageHost, name: str, folder: Path) -> None:
    """A distribution named as the generated Python SDK would be (module of the same name) goes into
    the plugin's venv; the product stays installed and importable beside it."""
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text("GENERATED = True\n")
    (folder / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "0.0.1"\n[tool.setuptools]\npackages = ["{name}"]\n')

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(host.python), *argv], cwd=folder, env=host.environ(), capture_output=True,
                              text=True, timeout=600)

    installed = run("-m", "pip", "install", "--no-build-isolation", str(folder))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    both = run("-c", f"import {name}, pulumi_dicom_jobs.plugin.server; assert {name}.GENERATED")
    assert both.returncode == 0, both.stderr
    assert run("-m", "pip", "show", "pulumi-dicom-jobs").returncode == 0, "the product was replaced"
