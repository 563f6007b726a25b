"""The job resources' Python signatures: Args classes, keyword arguments, typed outputs.

Why below both Pulumi faces: a Python program picks the dynamic resource
(``pulumi_dicom_jobs.DicomImportJob``, run in the SDK's dynamic provider
host) or the plugin's (``pulumi_dicom_jobs.plugin.DicomImportJob``) by its
import, and switching must be one import: the same ``__init__``, Args
classes and typed outputs. Each face takes them from here and adds only how
it registers (:mod:`pulumi_dicom_jobs.dynamic.resources`,
:mod:`pulumi_dicom_jobs.plugin.resources`); neither face imports the other.

Why plain Args classes: the providers must always receive snake_case keys
(``uri_prefix``, ``table_uri``...), whatever the caller passed. Typed Args
objects and plain dicts are both turned into plain dicts of the same keys
here, before the SDK serializes them (pulumi's ``input_type`` machinery would
rename fields to camelCase on the wire). Values may be Outputs.

Why explicit signatures: users' IDEs complete and type-check keyword
arguments only from written-out signatures and dataclass fields. They are the
one place the inputs are spelled out again; ``tests/beside/test_spec.py``
checks them against :mod:`pulumi_dicom_jobs.spec` (names, required or not,
defaults, nesting, value types). The props sent to a provider are built
from the spec.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, fields
from typing import Any, Mapping, Optional, Union

import pulumi

from pulumi_dicom_jobs import spec

__all__ = ["GcsSourceArgs", "BlobStorageSettingsArgs", "GcsDestinationArgs", "BigQueryDestinationArgs",
           "FilterConfigArgs", "ArgsOrDict", "job_props", "ImportJobSignature", "ExportJobSignature",
           "typed_properties"]


class _Args:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)  # type: ignore[arg-type]
                if getattr(self, f.name) is not None}


@dataclass
class GcsSourceArgs(_Args):
    """``gs://BUCKET/OBJECT``; ``*``, ``?`` and a final ``**`` (optionally ``**.ext``) allowed."""

    uri: pulumi.Input[str]


@dataclass
class BlobStorageSettingsArgs(_Args):
    """Storage class of the imported data: STANDARD, NEARLINE, COLDLINE or ARCHIVE."""

    blob_storage_class: Optional[pulumi.Input[str]] = None


@dataclass
class GcsDestinationArgs(_Args):
    """``gs://BUCKET[/PATH]`` and an optional MIME type (see ``api_facts.LISTED_MIME_TYPES``)."""

    uri_prefix: pulumi.Input[str]
    mime_type: Optional[pulumi.Input[str]] = None


@dataclass
class BigQueryDestinationArgs(_Args):
    """``bq://PROJECT.DATASET.TABLE``; set ``write_disposition`` *or* ``force``, not both.

    ``write_disposition``: ``WRITE_EMPTY`` (an existing table must be empty),
    ``WRITE_TRUNCATE`` (its rows are replaced) or ``WRITE_APPEND``;
    ``WRITE_DISPOSITION_UNSPECIFIED`` means unset. Unset, and ``force`` unset
    or false: the export only creates a new table and fails on any existing
    one, even an empty one. So a job that runs again (a ``triggers`` change, a
    replace) fails on the table its first run wrote, as does one meeting a
    table left by a cancelled run or created by hand: set a disposition for a
    job that may run twice.

    ``force``: only without ``write_disposition``; ``True`` overwrites an
    existing table. ``True`` beside a write disposition is refused at
    preview, because the API ignores ``force`` then (and it is not sent).

    ``schema``: ``"FLATTENED"`` or ``"JSON"`` (the API's schemaFlattened/schemaJson).
    """

    table_uri: pulumi.Input[str]
    write_disposition: Optional[pulumi.Input[str]] = None
    force: Optional[pulumi.Input[bool]] = None
    include_source_store: Optional[pulumi.Input[bool]] = None
    schema: Optional[pulumi.Input[str]] = None


@dataclass
class FilterConfigArgs(_Args):
    """A Cloud Storage file listing ``/studies/UID[/series/UID[/instances/UID]]`` lines."""

    resource_paths_gcs_uri: pulumi.Input[str]


ArgsOrDict = Union[_Args, Mapping[str, Any], None]


def _plain(value: Any) -> Any:
    """Args object or mapping -> dict with snake_case keys (None stays None)."""
    if value is None:
        return None
    if isinstance(value, _Args):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if v is not None}
    return value  # an Output of a dict, or something check() will report


def job_props(job: spec.JobSpec, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The provider's props: every input of ``job`` from ``arguments`` (objects as plain
    dicts), and every output as None so the engine knows the resource has it."""
    props = {item.name: _plain(arguments[item.name]) if item.type == "object" else arguments[item.name]
             for item in job.inputs}
    return {**props, **{name: None for name in job.output_names}}


class _JobSignature:
    """The outputs and inputs both job resources have, typed (never instantiated itself).

    A face's resource class takes an ``__init__`` below (which calls the
    face's ``_register`` with the ``__init__``'s locals) and
    :func:`typed_properties` as its own annotations.
    """

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

    def _register(self, job: spec.JobSpec, arguments: Mapping[str, Any]) -> None:
        raise NotImplementedError  # each face registers its own way


class ImportJobSignature(_JobSignature):
    """``DicomImportJob``'s keyword arguments and outputs."""

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
        self._register(spec.IMPORT_JOB, locals())


class ExportJobSignature(_JobSignature):
    """``DicomExportJob``'s keyword arguments and outputs."""

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
        self._register(spec.EXPORT_JOB, locals())


def typed_properties(signature: type) -> dict[str, Any]:
    """Every output property of ``signature`` (the shared ones first), its type resolved here.

    Pulumi types a resource's outputs (a count arriving as ``3.0`` becomes
    ``3``) from the resource class's *own* annotations, so each face's class
    takes this dict as its ``__annotations__``; resolved, the types need no
    name from the face's module.
    """
    return typing.get_type_hints(signature)
