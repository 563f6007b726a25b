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
As in a generated SDK, every property is a typed getter keyed by its wire
name (``@pulumi.getter(name="successCount")``): the SDK looks an output's
type up by the name the engine sends, before translating it to snake_case,
so only that keying turns a count's ``3.0`` from the wire into ``3``.
"""

from __future__ import annotations

import inspect
import sys
import typing
from typing import Any, Callable, Mapping

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


def _getter(python_name: str, hint: Any) -> Callable[[Any], Any]:
    """A property getter typed ``hint`` and registered under the wire name of ``python_name``."""

    def get(self: Any) -> Any:
        return pulumi.get(self, python_name)

    get.__name__ = python_name
    get.__annotations__ = {"return": hint}
    return pulumi.getter(name=_TO_CAMEL.get(python_name, python_name))(get)


def _typed_like(dynamic_cls: type) -> Callable[[type], type]:
    """Give a class the dynamic resource's annotated properties as a generated SDK declares them.

    The annotations are resolved in the dynamic module (they are strings there).
    """
    annotations = inspect.get_annotations(dynamic_cls)
    holder = type(dynamic_cls.__name__, (), {"__annotations__": annotations})
    hints = typing.get_type_hints(holder, globalns=vars(sys.modules[dynamic_cls.__module__]))

    def declare(cls: type) -> type:
        for name in annotations:
            setattr(cls, name, property(_getter(name, hints[name])))
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


@_typed_like(dynamic.DicomImportJob)
class DicomImportJob(_PluginJob):
    """Import DICOM files from Cloud Storage into a DICOM store (``dicom-jobs:index:DicomImportJob``).

    The arguments and outputs are those of :class:`pulumi_dicom_jobs.DicomImportJob`.
    """

    __annotations__ = inspect.get_annotations(dynamic.DicomImportJob)
    __init__ = dynamic.DicomImportJob.__init__


@_typed_like(dynamic.DicomExportJob)
class DicomExportJob(_PluginJob):
    """Export a DICOM store to Cloud Storage or BigQuery (``dicom-jobs:index:DicomExportJob``).

    The arguments and outputs are those of :class:`pulumi_dicom_jobs.DicomExportJob`.
    """

    __annotations__ = inspect.get_annotations(dynamic.DicomExportJob)
    __init__ = dynamic.DicomExportJob.__init__
