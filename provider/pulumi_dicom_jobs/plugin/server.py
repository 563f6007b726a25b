"""``pulumi-resource-dicom-jobs``: the executable the Pulumi CLI starts for package ``dicom-jobs``.

The engine starts it with its own address as the first argument; the SDK's
server (:func:`pulumi.provider.experimental.server.main`) parses it, serves
the provider protocol on a free loopback port and prints that port as the
first line of stdout, which is how the engine finds the plugin. The same
address is where the engine's ``Log`` service is, for progress
(:mod:`pulumi_dicom_jobs.plugin.engine_log`).
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from pulumi.provider.experimental.server import main as serve

from pulumi_dicom_jobs.plugin.provider import DicomJobsProvider
from pulumi_dicom_jobs.plugin import package_info

__all__ = ["main"]


def _engine_address(args: Sequence[str]) -> Optional[str]:
    """The first argument that is not a flag (``--logflow`` and friends come first or last)."""
    return next((arg for arg in args if not arg.startswith("-")), None)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    serve(args, package_info.version(), DicomJobsProvider(_engine_address(args)))
