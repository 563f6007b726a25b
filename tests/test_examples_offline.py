"""Each example README's "On the local emulators" commands, run as printed (issue 24).

A user follows the block: starts the seeded sandbox in one shell
(``python -m healthcare_emulator.stack --seed``), pastes the ``export``
lines it prints into another, goes to the example's folder and runs the
rest (``dicom-jobs import`` to fill the store, ``pulumi-offline up --stack
local .`` with the example's ``Pulumi.local.yaml``). Here each example gets
a fresh sandbox (a child process, as the user starts it) and a copy of its
folder; every command must succeed, and ``pulumi-offline destroy`` must end
as the README says: it fails where a bucket or dataset still holds the
export, as ``pulumi destroy`` does, and what the README's "What stays in the
stack:" names is exactly what the stack's state still holds.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from support.sandbox import SandboxProcess, shell_env

ROOT = Path(__file__).resolve().parents[1]
PYTHON_EXAMPLES = sorted(path.parent.name for path in ROOT.glob("examples/*/__main__.py"))
HEADING = "\n## On the local emulators\n"

pytestmark = pytest.mark.slow


def offline_block(example: str) -> tuple[list[str], list[str], str]:
    """(the sandbox's arguments, the commands run in the example's folder, the prose after the block)."""
    text = (ROOT / "examples" / example / "README.md").read_text()
    assert HEADING in text, f"examples/{example}/README.md has no {HEADING.strip()!r} section"
    section = text.split(HEADING, 1)[1]
    block, prose = section.split("```sh\n", 1)[1].split("```\n", 1)
    lines = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    [start] = [line for line in lines if "healthcare_emulator.stack" in line]
    cd = lines.index(f"cd examples/{example}")
    return shlex.split(start)[3:], lines[cd + 1:], prose


def kept_after_destroy(example: str) -> set[str] | None:
    """The resource names the README's "What stays in the stack:" sentence names (None: no such sentence)."""
    text = " ".join((ROOT / "examples" / example / "README.md").read_text().split())
    found = re.findall(r"What stays in the stack: (.*?)\. ", text)
    assert len(found) <= 1, f"examples/{example}/README.md says what stays more than once: {found}"
    return {name for name in re.findall(r"`([^`]+)`", found[0])} if found else None


def test_every_python_example_has_its_offline_commands() -> None:
    assert PYTHON_EXAMPLES == ["bigquery-export", "gcs-export-jpeg", "gcs-import", "store-migration"]
    for example in PYTHON_EXAMPLES:
        _args, commands, _prose = offline_block(example)
        assert commands[-1] == "pulumi-offline up --stack local .", commands
        assert (ROOT / "examples" / example / "Pulumi.local.yaml").is_file()


@pytest.mark.parametrize("example", PYTHON_EXAMPLES)
def test_the_offline_commands_run_as_printed(example: str, tmp_path: Path) -> None:
    args, commands, prose = offline_block(example)
    folder = shutil.copytree(ROOT / "examples" / example, tmp_path / example,
                             ignore=shutil.ignore_patterns(".pulumi-offline", "venv", "__pycache__"))
    sandbox = SandboxProcess.start(args)
    try:
        env = shell_env(sandbox.env())
        for command in commands:
            done = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True,
                                  timeout=600, stdin=subprocess.DEVNULL)
            assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        assert "Resources:\n    + " in done.stdout and "created" in done.stdout, done.stdout
        destroyed = subprocess.run(["pulumi-offline", "destroy", "--stack", "local", "."], cwd=folder, env=env,
                                   capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        says_it_fails = "(it fails on " in " ".join(prose.split())
        assert destroyed.returncode == (1 if says_it_fails else 0), destroyed.stdout + destroyed.stderr
        state = json.loads((folder / ".pulumi-offline" / "local.json").read_text())
        left = {resource["urn"].rsplit("::", 1)[-1] for resource in state["resources"]}
        assert left == (kept_after_destroy(example) or set()), destroyed.stdout + destroyed.stderr
    finally:
        sandbox.stop()
