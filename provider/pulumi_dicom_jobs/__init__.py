"""Pulumi resources, a provider plugin and a CLI for Cloud Healthcare API DICOM import and export jobs.

``DicomImportJob`` / ``DicomExportJob`` (:mod:`.dynamic.resources`) run one
long-running operation each through :mod:`.jobs`, the code path the
``dicom-jobs`` CLI shares.

Names are imported lazily (PEP 562) because every entry point imports this
package first, and each must pay only for what it uses: the ``dicom-jobs``
CLI never imports ``pulumi`` (a quarter of a second and gRPC at every
start), and the dynamic provider host (which imports :mod:`.dynamic.providers`
to unpickle a provider) never imports the pulumi-gcp components (another
quarter of a second and ~20 MB per host process).
Importing any module of the package has no side effect.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DicomImportJob": "dynamic.resources", "DicomExportJob": "dynamic.resources", "GcsSourceArgs": "resource_args",
    "BlobStorageSettingsArgs": "resource_args", "GcsDestinationArgs": "resource_args",
    "BigQueryDestinationArgs": "resource_args", "FilterConfigArgs": "resource_args",
    "DicomImportJobProvider": "dynamic.providers", "DicomExportJobProvider": "dynamic.providers",
    "JobFailed": "failures", "OperationStatus": "lro.status", "DEFAULT_TIMEOUT_SECONDS": "spec",
    "DicomGcsImport": "gcp.components", "DicomGcsExport": "gcp.components", "DicomBigQueryExport": "gcp.components",
    "GrantSet": "gcp.grants", "HealthcareServiceAgent": "gcp.grants", "healthcare_service_agent": "gcp.grants",
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
