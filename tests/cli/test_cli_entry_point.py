"""The ``dicom-jobs`` console script resolves to the CLI, and the dynamic host never loads the CLI's libraries."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_console_script_target_is_the_cli_function() -> None:
    # what the generated ``dicom-jobs`` script does: from pulumi_dicom_jobs.cli import main; main()
    proc = _run("import sys\nfrom pulumi_dicom_jobs.cli import main\nsys.argv = ['dicom-jobs', '--help']\nmain()")
    assert proc.returncode == 0, proc.stderr
    assert "Run Cloud Healthcare API DICOM import/export jobs" in proc.stdout


def test_provider_module_with_its_cli_hints_loads_no_click_or_rich() -> None:
    proc = _run("import sys\nimport pulumi_dicom_jobs.dynamic.providers\n"
                "print(sorted(m for m in ('click', 'rich') if m in sys.modules))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
