"""The Python face of the plugin: :class:`DicomImportJob` and :class:`DicomExportJob`
as ``dicom-jobs:index:*`` custom resources, served by ``pulumi-resource-dicom-jobs``.

Why beside the dynamic resources of the same names: a Python program picks
one by its import (``pulumi_dicom_jobs.DicomImportJob`` runs in the SDK's
dynamic provider host; ``pulumi_dicom_jobs.plugin.DicomImportJob`` in the
plugin, with progress, Ctrl-C and customTimeouts). The arguments, Args
classes and outputs are the same (the very ``__init__``s and annotations of
the dynamic resources), so switching is one import. What a generated SDK
does with type metadata is done here with the names of
:mod:`pulumi_dicom_jobs.spec`: snake_case in Python, camelCase on the wire.
"""

from __future__ import annotations

import inspect
from typing import Any, Mapping

import pulumi

from pulumi_dicom_jobs import spec
from pulumi_dicom_jobs.dynamic import resources as dynamic
from pulumi_dicom_jobs.dynamic.resources import (BigQueryDestinationArgs, BlobStorageSettingsArgs,
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
    """Registers a ``dicom-jobs:index:*`` resource; names translated on the way out and in."""

    def _register(self, job: spec.JobSpec, arguments: Mapping[str, Any]) -> None:
        super().__init__(token(job.name), arguments["resource_name"], job_props(job, arguments),
                         arguments["opts"])

    def translate_input_property(self, prop: str) -> str:
        return _TO_CAMEL.get(prop, prop)

    def translate_output_property(self, prop: str) -> str:
        return _TO_SNAKE.get(prop, prop)


class DicomImportJob(_PluginJob):
    """Import DICOM files from Cloud Storage into a DICOM store (``dicom-jobs:index:DicomImportJob``).

    The arguments and outputs are those of :class:`pulumi_dicom_jobs.DicomImportJob`.
    """

    __annotations__ = inspect.get_annotations(dynamic.DicomImportJob)
    __init__ = dynamic.DicomImportJob.__init__


class DicomExportJob(_PluginJob):
    """Export a DICOM store to Cloud Storage or BigQuery (``dicom-jobs:index:DicomExportJob``).

    The arguments and outputs are those of :class:`pulumi_dicom_jobs.DicomExportJob`.
    """

    __annotations__ = inspect.get_annotations(dynamic.DicomExportJob)
    __init__ = dynamic.DicomExportJob.__init__
