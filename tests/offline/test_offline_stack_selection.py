"""``pulumi-offline up --stack NAME`` of a stack that does not exist (issue 24).

As ``pulumi up --stack NAME`` without a terminal (``RequireStack`` in
pulumi/pulumi's pkg/cmd/pulumi/stack/io.go): "no stack named 'NAME' found",
exit code 6 (``ExitStackNotFound``), nothing run and no state written.
Offline a stack is its config file (there is no ``stack init``), or its
saved state once it has run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_offline.__main__ import EXIT_STACK_NOT_FOUND


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: tiny\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("import pulumi\n\npulumi.export('answer', 42)\n")
    (tmp_path / "Pulumi.example.yaml").write_text("config: {}\n")
    return tmp_path


def _offline(project: Path, *args: str) -> subprocess.CompletedProcess:
    """``pulumi-offline ARGS .`` run from the project's folder, as the docs show it."""
    return subprocess.run([sys.executable, "-m", "pulumi_offline", *args, "."], cwd=project, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("command", ["up", "preview", "destroy"])
def test_a_stack_without_config_file_or_state_is_not_found_and_nothing_is_written(project: Path,
                                                                                  command: str) -> None:
    done = _offline(project, command, "--stack", "nope")
    assert done.returncode == EXIT_STACK_NOT_FOUND == 6, done.stdout + done.stderr
    assert done.stdout == ""  # no "Updating (...)" header: nothing started
    assert done.stderr.splitlines() == [
        "error: no stack named 'nope' found: pulumi-offline has no `stack init`, a stack is its config file: "
        "create Pulumi.nope.yaml (a `config:` mapping, see docs/offline-engine.md) or give one with "
        "--config-file; stacks with a config file here: example"]
    assert not (project / ".pulumi-offline").exists()


def test_the_default_stack_is_dev_and_the_message_says_it_is_the_default(project: Path) -> None:
    done = _offline(project, "up")
    assert done.returncode == 6, done.stdout + done.stderr
    assert done.stderr.startswith("error: no stack named 'dev' found (the default stack; choose another with "
                                  "--stack NAME): "), done.stderr
    (project / "Pulumi.dev.yaml").write_text("config: {}\n")
    ran = _offline(project, "up")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.startswith("Previewing update (tiny/dev):"), ran.stdout  # `up` previews first
    assert "\nUpdating (tiny/dev):" in ran.stdout, ran.stdout


def test_a_stack_with_state_exists_without_its_config_file(project: Path) -> None:
    config = project / "Pulumi.dev.yaml"
    config.write_text("config: {}\n")
    assert _offline(project, "up", "--stack", "dev").returncode == 0
    config.unlink()
    done = _offline(project, "preview", "--stack", "dev")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "answer: 42" in done.stdout


def test_a_config_file_given_by_flag_makes_the_stack(project: Path, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("config") / "local.yaml"
    elsewhere.write_text("config: {}\n")
    done = _offline(project, "preview", "--stack", "nope", "--config-file", str(elsewhere))
    assert done.returncode == 0, done.stdout + done.stderr
