"""The README's first lines are the two commands of a fresh machine; keep them true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first_block and text.index("```sh") < 200, "the commands must open the README"
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_makefile_has_both_targets_and_ci_runs_the_readme_test_command() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#") and not line.startswith("set ") and not line.startswith("cd ")]
    assert ci == ["exec make test"]


def _recipe(makefile: str, target: str) -> list[str]:
    """The recipe lines of ``target`` (a rule line starting with it)."""
    lines = makefile.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line[1:])
    return recipe


def test_both_venv_installs_are_quiet_for_a_user() -> None:
    """`make demo` and `make test` on a fresh clone print one line per venv while installing:
    no echoed recipe, pip at $(PIP_QUIET) (no build-backend banners), no preparation line."""
    makefile = (ROOT / "Makefile").read_text()
    for target in ("$(STAMP)", "$(FLOOR_STAMP)"):
        recipe = _recipe(makefile, target)
        assert recipe and all(line.startswith("@") for line in recipe), (target, recipe)
        assert [line for line in recipe if line.startswith("@echo")] == [recipe[0]], (target, recipe)
        pips = [line for line in recipe if " -m pip install " in line]
        assert pips and all("$(PIP_QUIET)" in line for line in pips), (target, pips)
        assert all(line.endswith("> /dev/null") for line in recipe if "--prepare" in line), (target, recipe)
    assert re.search(r"^PIP_QUIET := -qq ", makefile, re.M)
