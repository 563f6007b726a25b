"""The three pyproject.toml files say what the packaging promises: keep them true.

The product depends on version ranges whose bottoms are exactly what the floor
venv of ``make test`` installs (constraints/floor.txt); the offline engine pins
the SDK exactly, inside the product's ranges; no distribution ships another's
packages; every test file a pyproject.toml cites exists.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
FLOORS_FILE = ROOT / "constraints" / "floor.txt"


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


def _requirements(folder: Path) -> dict[str, Requirement]:
    requirements = [Requirement(text) for text in _project(folder)["dependencies"]]
    return {req.name.lower(): req for req in requirements}


def _floor_pins() -> dict[str, str]:
    pins = {}
    for line in FLOORS_FILE.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def _bound(req: Requirement, operator: str) -> str | None:
    found = [spec.version for spec in req.specifier if spec.operator == operator]
    return found[0] if len(found) == 1 else None


def test_product_depends_on_ranges_with_a_floor_and_a_cap() -> None:
    for name, req in _requirements(ROOT).items():
        operators = sorted(spec.operator for spec in req.specifier)
        assert operators == ["<", ">="], f"{req}: a range is one '>=' floor and one '<' cap"


def test_floor_constraints_are_exactly_the_ranges_floors() -> None:
    floors = {name: Version(_bound(req, ">=")) for name, req in _requirements(ROOT).items()}
    assert {name: Version(pin) for name, pin in _floor_pins().items()} == floors


def test_product_carries_no_emulator_offline_or_test_dependencies() -> None:
    names = set(_requirements(ROOT))
    for foreign in ("pyyaml", "pydicom", "duckdb", "bqemulator", "gcp-storage-emulator",
                    "healthcare-emulator", "pulumi-offline", "pytest", "hypothesis"):
        assert foreign not in names, foreign
    assert "optional-dependencies" not in _project(ROOT), "test dependencies live in tests/requirements.txt"


def test_each_distribution_ships_only_its_own_packages() -> None:
    expected = {ROOT: ("provider", "pulumi_dicom_jobs"),
                ROOT / "emulator": (".", "healthcare_emulator"),
                ROOT / "offline": (".", "pulumi_offline")}
    for folder, (where, package) in expected.items():
        find = tomllib.loads((folder / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
        assert find["where"] == [where], folder
        assert sorted(find["include"]) == [package, f"{package}.*"], folder


def test_offline_engine_pins_the_sdk_inside_the_products_ranges() -> None:
    product = _requirements(ROOT)
    offline = _requirements(ROOT / "offline")
    for name in ("pulumi", "pulumi-gcp"):
        pinned = [spec.version for spec in offline[name].specifier if spec.operator == "=="]
        assert len(pinned) == 1, f"offline engine must pin {name} exactly: {offline[name]}"
        assert Version(pinned[0]) in product[name].specifier, (name, pinned[0], str(product[name]))
    assert {"pulumi-dicom-jobs", "healthcare-emulator", "pyyaml"} <= set(offline)


def test_each_distribution_has_its_command() -> None:
    commands = {ROOT: {"dicom-jobs": "pulumi_dicom_jobs.cli:main",
                       # the name the Pulumi CLI looks for on PATH
                       "pulumi-resource-dicom-jobs": "pulumi_dicom_jobs.plugin.server:main"},
                ROOT / "emulator": {"healthcare-emulator": "healthcare_emulator.__main__:main"},
                ROOT / "offline": {"pulumi-offline": "pulumi_offline.__main__:main"}}
    for folder, scripts in commands.items():
        assert _project(folder)["scripts"] == scripts, folder


def test_test_files_cited_by_the_pyproject_files_exist() -> None:
    cited = []
    for pyproject in (ROOT / "pyproject.toml", ROOT / "emulator" / "pyproject.toml",
                      ROOT / "offline" / "pyproject.toml", FLOORS_FILE):
        cited += re.findall(r"tests/[\w/]+\.py", pyproject.read_text())
    missing = [path for path in cited if not (ROOT / path).is_file()]
    assert cited and not missing, missing


def test_every_distribution_allows_exactly_the_pythons_the_suite_runs_on() -> None:
    """3.11 and up: the emulator's BigQuery backend (bqemulator) needs 3.11, so no
    suite runs on 3.10, and a package must not promise what nothing tests."""
    assert sys.version_info >= (3, 11)
    for folder in (ROOT, ROOT / "emulator", ROOT / "offline"):
        assert _project(folder)["requires-python"] == ">=3.11", folder


def test_every_distribution_says_what_it_is_who_makes_it_and_its_license() -> None:
    """What ``pip show`` and an index page show (issue 24): a summary of the whole distribution,
    the authors, and the license as an SPDX expression (PEP 639, setuptools >= 77)."""
    summaries = {folder: _project(folder)["description"] for folder in (ROOT, ROOT / "emulator", ROOT / "offline")}
    for folder, summary in summaries.items():
        project = _project(folder)
        assert project["license"] == "Apache-2.0", folder
        assert project["authors"] == [{"name": "pulumi-dicom-jobs maintainers"}], folder
        assert "setuptools>=77" in tomllib.loads((folder / "pyproject.toml").read_text())["build-system"]["requires"]
    # the product is resources, a provider plugin and a CLI, not only dynamic resources
    assert all(word in summaries[ROOT] for word in ("Pulumi resources", "provider plugin", "CLI")), summaries[ROOT]
    assert "emulator" in summaries[ROOT / "emulator"] and "Pulumi engine" in summaries[ROOT / "offline"]


def test_every_distribution_links_its_home_from_the_one_repository_url() -> None:
    """``[project.urls]`` in all three (issue 24): the same repository, and each page exists here."""
    repository = _project(ROOT)["urls"]["Repository"]
    for folder in (ROOT, ROOT / "emulator", ROOT / "offline"):
        urls = _project(folder)["urls"]
        assert urls["Repository"] == repository and urls["Issues"] == f"{repository}/issues", folder
        home = urls["Homepage"]
        assert home == repository or home.startswith(f"{repository}/blob/main/"), folder
        if home != repository:
            assert (ROOT / home.removeprefix(f"{repository}/blob/main/")).is_file(), home
