"""Pulumi dynamic resources for Cloud Healthcare API DICOM import and export jobs.

``DicomImportJob`` / ``DicomExportJob`` (:mod:`.resources`) run one
long-running operation each through :mod:`.runner`, the code path the
``dicom-jobs`` CLI shares.

Names are imported lazily (PEP 562): importing a submodule such as
``pulumi_dicom_jobs.hostpool`` or ``.runner`` does not drag in the providers
(whose import widens the dynamic host's worker pool) or the resources.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DicomImportJob": "resources", "DicomExportJob": "resources", "GcsSourceArgs": "resources",
    "BlobStorageSettingsArgs": "resources", "GcsDestinationArgs": "resources",
    "BigQueryDestinationArgs": "resources", "FilterConfigArgs": "resources",
    "DicomImportJobProvider": "providers", "DicomExportJobProvider": "providers",
    "JobFailed": "runner", "OperationStatus": "runner", "DEFAULT_TIMEOUT_SECONDS": "runner",
    "DicomGcsImport": "components", "DicomGcsExport": "components", "DicomBigQueryExport": "components",
    "GrantSet": "grants", "healthcare_service_agent": "grants",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pulumi_dicom_jobs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pulumi_dicom_jobs.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
