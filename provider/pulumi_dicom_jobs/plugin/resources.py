"""The Python face of the plugin: :class:`DicomImportJob` and :class:`DicomExportJob`
as ``dicom-jobs:index:*`` custom resources, served by ``pulumi-resource-dicom-jobs``.

Why beside the dynamic resources of the same names: a Python program picks
one by its import (``pulumi_dicom_jobs.DicomImportJob`` runs in the SDK's
dynamic provider host; ``pulumi_dicom_jobs.plugin.DicomImportJob`` in the
plugin, with progress, Ctrl-C and customTimeouts). The arguments, Args
classes and outputs are the same (the very ``__init__``s and typed outputs
of :mod:`pulumi_dicom_jobs.resource_args`, which the dynamic resources take
too), so switching is one import. What a generated SDK
does with type metadata is done here with the names of
:mod:`pulumi_dicom_jobs.spec`: snake_case in Python, camelCase on the wire.
As in a generated SDK, every property is a typed getter keyed by its wire
name (``@pulumi.getter(name="successCount")``): the SDK looks an output's
type up by the name the engine sends, before translating it to snake_case,
so only that keying turns a count's ``3.0`` from the wire into ``3``.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import pulumi

from pulumi_dicom_jobs import spec
from pulumi_dicom_jobs.plugin.package_schema import token
from pulumi_dicom_jobs.resource_args import (BigQueryDestinationArgs, BlobStorageSettingsArgs,
                                             ExportJobSignature, FilterConfigArgs, GcsDestinationArgs,
                                             GcsSourceArgs, ImportJobSignature, job_props, typed_properties)

__all__ = ["DicomImportJob", "DicomExportJob", "GcsSourceArgs", "BlobStorageSettingsArgs",
           "GcsDestinationArgs", "BigQueryDestinationArgs", "FilterConfigArgs"]


#: snake_case -> camelCase for every input, nested field and output (spec: one spelling each).
_TO_CAMEL = spec.camel_names()
_TO_SNAKE = {camel: snake for snake, camel in _TO_CAMEL.items()}


def _getter(python_name: str, hint: Any) -> Callable[[Any], Any]:
    """A property getter typed ``hint`` and registered under the wire name of ``python_name``."""

    def get(self: Any) -> Any:
        return pulumi.get(self, python_name)

    get.__name__ = python_name
    get.__annotations__ = {"return": hint}
    return pulumi.getter(name=_TO_CAMEL.get(python_name, python_name))(get)


def _typed_like(signature: type) -> Callable[[type], type]:
    """Give a class the shared signature's typed properties as a generated SDK declares them."""
    hints = typed_properties(signature)

    def declare(cls: type) -> type:
        for name, hint in hints.items():
            setattr(cls, name, property(_getter(name, hint)))
        return cls

    return declare


class _PluginJob(pulumi.CustomResource):
    """Registers a ``dicom-jobs:index:*`` resource; names translated on the way out and in."""

    def _register(self, job: spec.JobSpec, arguments: Mapping[str, Any]) -> None:
        super().__init__(token(job.name), arguments["resource_name"], job_props(job, arguments),
                         arguments["opts"])

    def translate_input_property(self, prop: str) -> str:
        return _TO_CAMEL.get(prop, prop)

    def translate_output_property(self, prop: str) -> str:
        return _TO_SNAKE.get(prop, prop)


@_typed_like(ImportJobSignature)
class DicomImportJob(_PluginJob):
    """Import DICOM files from Cloud Storage into a DICOM store (``dicom-jobs:index:DicomImportJob``).

    The arguments and outputs are those of :class:`pulumi_dicom_jobs.DicomImportJob`.
    """

    __annotations__ = typed_properties(ImportJobSignature)
    __init__ = ImportJobSignature.__init__


@_typed_like(ExportJobSignature)
class DicomExportJob(_PluginJob):
    """Export a DICOM store to Cloud Storage or BigQuery (``dicom-jobs:index:DicomExportJob``).

    The arguments and outputs are those of :class:`pulumi_dicom_jobs.DicomExportJob`.
    """

    __annotations__ = typed_properties(ExportJobSignature)
    __init__ = ExportJobSignature.__init__
