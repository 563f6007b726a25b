"""``pulumi-offline up`` on a program that requires a config value the stack lacks:
one line naming the key and the stack's config file, no traceback, and no
``pulumi config set`` (there is no such command here). Issue 16, section 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_missing_config_value_is_one_line_naming_the_key_and_the_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: needs-config\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("import pulumi\n\npulumi.export('bucket', pulumi.Config().require('bucket'))\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  needs-config:pattern: '**.dcm'\n")
    proc = subprocess.run([sys.executable, "-m", "pulumi_offline", "up", str(tmp_path), "--stack", "dev"],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    expected = (f"missing required configuration value needs-config:bucket: add `needs-config:bucket: VALUE` "
                f"under `config:` in {tmp_path / 'Pulumi.dev.yaml'} (or the file given with --config-file)")
    [line] = [line for line in output.splitlines() if "needs-config:bucket" in line]
    assert line.strip().endswith(expected), output
    assert "Traceback" not in output and "pulumi config set" not in output, output


def test_a_run_error_is_its_message_alone_and_any_other_exception_keeps_its_traceback(tmp_path: Path) -> None:
    """As the Python language host (pulumi-language-python-exec): ``pulumi.RunError`` -> its message."""
    (tmp_path / "Pulumi.yaml").write_text("name: stops\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    outputs = {}
    for name, raise_line in (("run-error", "raise pulumi.RunError('the config says no')"),
                             ("value-error", "raise ValueError('a bug')")):
        (tmp_path / "__main__.py").write_text(f"import pulumi\n\n{raise_line}\n")
        proc = subprocess.run([sys.executable, "-m", "pulumi_offline", "up", str(tmp_path), "--stack", "dev"],
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        outputs[name] = proc.stdout + proc.stderr
    # The message alone, then the engine's own line for the failed preview `up` runs first
    # (deployment_executor.go reportExecResult: "preview failed").
    assert "\n    error: the config says no\n    error: preview failed\n" in outputs["run-error"], outputs["run-error"]
    assert "Traceback" not in outputs["run-error"]
    assert "Traceback" in outputs["value-error"] and "ValueError: a bug" in outputs["value-error"]
