"""``dicom-jobs`` command lines that other messages point users to.

Why its own module, below the faces and without click or rich: the job
runner speaks no CLI syntax, yet a failure such as "an older operation still
runs" is most useful with the command that waits for or cancels it. Every
face (the CLI, the dynamic provider, the provider plugin) adds these to its
messages, and none of them may import another face.
"""

from __future__ import annotations

from pulumi_dicom_jobs import api_facts

__all__ = ["wait_and_cancel_commands"]


def wait_and_cancel_commands(operation: str, api_version: str) -> tuple[str, str]:
    """``dicom-jobs wait OPERATION`` and ``dicom-jobs cancel OPERATION`` (with a non-default API version)."""
    flag = "" if api_version == api_facts.DEFAULT_API_VERSION else f" --api-version {api_version}"
    return f"dicom-jobs wait {operation}{flag}", f"dicom-jobs cancel {operation}{flag}"
