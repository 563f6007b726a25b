"""The Python face of the plugin: :class:`DicomImportJob` and :class:`DicomExportJob`
as ``dicom-jobs:index:*`` custom resources, served by ``pulumi-resource-dicom-jobs``.

Why beside the dynamic resources of the same names: a Python program picks
one by its import (``pulumi_dicom_jobs.DicomImportJob`` runs in the SDK's
dynamic provider host; ``pulumi_dicom_jobs.plugin.DicomImportJob`` in the
plugin, with progress, Ctrl-C and customTimeouts). The arguments, Args
classes and outputs are the same, so switching is one import. What a
generated SDK does with type metadata is done here with the names of
:mod:`pulumi_dicom_jobs.spec`: snake_case in Python, camelCase on the wire.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

import pulumi

from pulumi_dicom_jobs import spec
from pulumi_dicom_jobs.dynamic.resources import (ArgsOrDict, BigQueryDestinationArgs, BlobStorageSettingsArgs,
                                                 FilterConfigArgs, GcsDestinationArgs, GcsSourceArgs,
                                                 job_props)
from pulumi_dicom_jobs.plugin.schema import token

__all__ = ["DicomImportJob", "DicomExportJob", "GcsSourceArgs", "BlobStorageSettingsArgs",
           "GcsDestinationArgs", "BigQueryDestinationArgs", "FilterConfigArgs"]


def _names() -> dict[str, str]:
    """snake_case -> camelCase for every input, nested field and output (no name has two spellings)."""
    names: dict[str, str] = {}
    for job in spec.JOBS:
        for _path, item in spec.walk(job):
            if names.setdefault(item.name, item.camel) != item.camel:
                raise ValueError(f"{item.name} has two camelCase spellings")
        for output in job.outputs:
            names[output.name] = output.camel
    return names


_TO_CAMEL = _names()
_TO_SNAKE = {camel: snake for snake, camel in _TO_CAMEL.items()}


class _PluginJob(pulumi.CustomResource):
    """The outputs both job resources have (never instantiated itself)."""

    operation_name: pulumi.Output[str]
    success_count: pulumi.Output[int]
    failure_count: pulumi.Output[int]
    logs_url: pulumi.Output[Optional[str]]
    create_time: pulumi.Output[Optional[str]]
    end_time: pulumi.Output[Optional[str]]
    api_method_name: pulumi.Output[Optional[str]]
    dicom_store: pulumi.Output[str]
    api_version: pulumi.Output[Optional[str]]
    api_endpoint: pulumi.Output[Optional[str]]
    timeout_seconds: pulumi.Output[Optional[float]]
    max_failed_instances: pulumi.Output[Optional[int]]
    triggers: pulumi.Output[Any]

    def translate_input_property(self, prop: str) -> str:
        return _TO_CAMEL.get(prop, prop)

    def translate_output_property(self, prop: str) -> str:
        return _TO_SNAKE.get(prop, prop)


class DicomImportJob(_PluginJob):
    """Import DICOM files from Cloud Storage into a DICOM store (``dicom-jobs:index:DicomImportJob``).

    The arguments are those of :class:`pulumi_dicom_jobs.DicomImportJob`.
    """

    gcs_source: pulumi.Output[dict]
    blob_storage_settings: pulumi.Output[Optional[dict]]

    def __init__(self, resource_name: str, *, dicom_store: pulumi.Input[str],
                 gcs_source: Union[GcsSourceArgs, Mapping[str, Any]],
                 blob_storage_settings: ArgsOrDict = None,
                 api_version: Optional[pulumi.Input[str]] = None,
                 api_endpoint: Optional[pulumi.Input[str]] = None,
                 timeout_seconds: Optional[pulumi.Input[float]] = None,
                 max_failed_instances: Optional[pulumi.Input[int]] = None,
                 triggers: Any = None,
                 opts: Optional[pulumi.ResourceOptions] = None) -> None:
        props = job_props(spec.IMPORT_JOB, locals())
        super().__init__(token(spec.IMPORT_JOB.name), resource_name, props, opts)


class DicomExportJob(_PluginJob):
    """Export a DICOM store to Cloud Storage or BigQuery (``dicom-jobs:index:DicomExportJob``).

    The arguments are those of :class:`pulumi_dicom_jobs.DicomExportJob`.
    """

    gcs_destination: pulumi.Output[Optional[dict]]
    bigquery_destination: pulumi.Output[Optional[dict]]
    filter_config: pulumi.Output[Optional[dict]]

    def __init__(self, resource_name: str, *, dicom_store: pulumi.Input[str],
                 gcs_destination: ArgsOrDict = None,
                 bigquery_destination: ArgsOrDict = None,
                 filter_config: ArgsOrDict = None,
                 api_version: Optional[pulumi.Input[str]] = None,
                 api_endpoint: Optional[pulumi.Input[str]] = None,
                 timeout_seconds: Optional[pulumi.Input[float]] = None,
                 max_failed_instances: Optional[pulumi.Input[int]] = None,
                 triggers: Any = None,
                 opts: Optional[pulumi.ResourceOptions] = None) -> None:
        props = job_props(spec.EXPORT_JOB, locals())
        super().__init__(token(spec.EXPORT_JOB.name), resource_name, props, opts)
