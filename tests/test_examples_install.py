"""Each example's ``requirements.txt`` installs the product from this repository
(issue 16, section 1): the package is not on PyPI yet, so a requirement by
name would fail with "No matching distribution". Parsed, never run: no pip,
no network."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(path.parent for path in ROOT.glob("examples/*/requirements.txt"))
PRODUCT = "pulumi-dicom-jobs"


def _requirements(path: Path) -> list[str]:
    """The requirement lines, without comments and blank lines."""
    lines = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _local_path(line: str) -> str | None:
    """The directory a requirement line installs from (``../..``, ``-e ../..``), if it is one."""
    target = line[3:].strip() if line.startswith("-e ") else line
    return target if target.startswith((".", "/")) else None


def _project_name(directory: Path) -> str | None:
    pyproject = directory / "pyproject.toml"
    if not pyproject.is_file():
        return None
    return tomllib.loads(pyproject.read_text()).get("project", {}).get("name")


def test_every_example_is_found() -> None:
    assert [path.name for path in EXAMPLES] == ["bigquery-export", "gcs-export-jpeg", "gcs-import",
                                                "store-migration"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_requirements_install_the_product_from_the_repository(example: Path) -> None:
    lines = _requirements(example / "requirements.txt")
    # pip reads a relative path from the folder it runs in: the example's, as `pulumi up` does
    local = [(example / path).resolve() for path in filter(None, map(_local_path, lines))]
    assert [_project_name(path) for path in local] == [PRODUCT], lines
    assert local == [ROOT]
    by_name = [line for line in lines if re.match(rf"{PRODUCT}\b", line, re.IGNORECASE)]
    assert by_name == [], f"{example.name}: {PRODUCT} by name needs it published: {by_name}"
    assert {re.split(r"[<>=!~ ]", line)[0] for line in lines if not _local_path(line)} == {"pulumi", "pulumi-gcp"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_the_venv_and_state_the_readme_creates_are_ignored_by_git(example: Path) -> None:
    """The README runs `python -m venv venv` there and pulumi-offline keeps its state there."""
    paths = [f"examples/{example.name}/venv/bin/python", f"examples/{example.name}/.pulumi-offline/local.json"]
    done = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == paths, done.stdout + done.stderr
