"""The ``dicom-jobs`` provider plugin and its Python face.

* :mod:`~pulumi_dicom_jobs.plugin.server`: the ``pulumi-resource-dicom-jobs``
  executable (the provider protocol, served by the Pulumi SDK).
* :mod:`~pulumi_dicom_jobs.plugin.provider`: the protocol's steps over
  :mod:`pulumi_dicom_jobs.lifecycle`, the same as the dynamic resources'.
* :mod:`~pulumi_dicom_jobs.plugin.package_schema`: the package schema, generated from
  :mod:`pulumi_dicom_jobs.spec`.
* :mod:`~pulumi_dicom_jobs.plugin.resources`: :class:`DicomImportJob` and
  :class:`DicomExportJob` registering ``dicom-jobs:index:*`` resources, for a
  Python program that chooses the plugin (as a generated SDK would).

Importing this package imports only the Python face's dependencies.
"""

from pulumi_dicom_jobs.plugin.resources import (BigQueryDestinationArgs, BlobStorageSettingsArgs,
                                                DicomExportJob, DicomImportJob, FilterConfigArgs,
                                                GcsDestinationArgs, GcsSourceArgs)

__all__ = ["DicomImportJob", "DicomExportJob", "GcsSourceArgs", "BlobStorageSettingsArgs",
           "GcsDestinationArgs", "BigQueryDestinationArgs", "FilterConfigArgs"]
