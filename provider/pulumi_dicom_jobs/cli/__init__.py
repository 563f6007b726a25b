"""The ``dicom-jobs`` command line (``python -m pulumi_dicom_jobs.cli`` works too).

``main`` is loaded on first use, so importing one of the CLI's modules
alone (its exit codes in :mod:`.outcomes`, say) does not load click.
"""

from typing import Any

__all__ = ["main"]


def __getattr__(name: str) -> Any:
    if name == "main":
        from pulumi_dicom_jobs.cli.main import main as entry_point
        # importing the submodule bound ``main`` to it: the package's ``main`` is the function
        globals()["main"] = entry_point
        return entry_point
    raise AttributeError(f"module 'pulumi_dicom_jobs.cli' has no attribute {name!r}")
