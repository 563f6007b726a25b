"""The ``dicom-jobs`` command line (``python -m pulumi_dicom_jobs.cli`` works too)."""

from pulumi_dicom_jobs.cli.main import main

__all__ = ["main"]
