"""The user-facing resources: :class:`DicomImportJob` and :class:`DicomExportJob`.

Their keyword arguments, Args classes and typed outputs are the ones both
Pulumi faces share (:mod:`pulumi_dicom_jobs.resource_args`, which says why
they are plain and written out); this module adds how a dynamic resource
registers: with the provider of :mod:`.providers`, under the type token
``dynamic/dicom-jobs:<ClassName>``.
"""

from __future__ import annotations

from typing import Any, Mapping

from pulumi.dynamic import Resource

from pulumi_dicom_jobs import spec
from pulumi_dicom_jobs.dynamic.providers import DicomExportJobProvider, DicomImportJobProvider
from pulumi_dicom_jobs.resource_args import (ArgsOrDict, BigQueryDestinationArgs, BlobStorageSettingsArgs,
                                             ExportJobSignature, FilterConfigArgs, GcsDestinationArgs,
                                             GcsSourceArgs, ImportJobSignature, job_props, typed_properties)

__all__ = ["GcsSourceArgs", "BlobStorageSettingsArgs", "GcsDestinationArgs", "BigQueryDestinationArgs",
           "FilterConfigArgs", "ArgsOrDict", "DicomImportJob", "DicomExportJob"]


class _DicomJob(Resource):
    """What both job resources register with (never instantiated itself).

    Each subclass passes its own ``module=``/``name=`` keywords, so its type
    token stays ``dynamic/dicom-jobs:<ClassName>``.
    """

    def _register(self, job: spec.JobSpec, arguments: Mapping[str, Any]) -> None:
        """Register with the props built from ``arguments`` (an ``__init__``'s locals).

        The shared ``__init__``s (:mod:`pulumi_dicom_jobs.resource_args`) call
        this, so that the plugin's resources reuse them and register their own way.
        """
        provider = DicomExportJobProvider() if job is spec.EXPORT_JOB else DicomImportJobProvider()
        super().__init__(provider, arguments["resource_name"], job_props(job, arguments), arguments["opts"])


class DicomImportJob(_DicomJob, module="dicom-jobs", name="DicomImportJob"):
    """Import DICOM files from Cloud Storage into a DICOM store (one operation).

    ``timeout_seconds`` (default 6 h) bounds how long ``pulumi up`` waits;
    ``max_failed_instances`` (default 0) failed files are tolerated;
    ``triggers`` (any value) re-runs the import when it changes. Deleting the
    resource leaves the imported instances in the store.
    """

    __annotations__ = typed_properties(ImportJobSignature)
    __init__ = ImportJobSignature.__init__


class DicomExportJob(_DicomJob, module="dicom-jobs", name="DicomExportJob"):
    """Export a DICOM store to Cloud Storage or BigQuery (one operation).

    Exactly one of ``gcs_destination`` / ``bigquery_destination``;
    ``filter_config`` limits the export to the listed studies/series/instances.
    Other arguments as for :class:`DicomImportJob`. Deleting the resource
    leaves the exported objects or rows in place.
    """

    __annotations__ = typed_properties(ExportJobSignature)
    __init__ = ExportJobSignature.__init__
