"""Translate the resources' snake_case inputs into the API's camelCase bodies.

Why separate: the provider, the CLI and the tests must all send exactly the
same request for the same inputs, and the mapping (including the
``schema`` choice becoming the ``schemaFlattened``/``schemaJson`` union,
``force`` left out beside a write disposition, and the dropping of unset
values) is easy to get subtly wrong in two places.
The field names come from :mod:`pulumi_dicom_jobs.spec` (an input whose
``api`` flag is set is sent under its camelCase name); the ``schema`` union
and ``force`` beside a disposition are the two explicit rules. Inputs are assumed to have passed
:mod:`pulumi_dicom_jobs.validation`.
"""

from __future__ import annotations

from typing import Any, Mapping

from pulumi_dicom_jobs import api_facts, spec


def _nested(props: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = props.get(key)
    return value if isinstance(value, Mapping) else {}


def _object(item: spec.InputSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """One request object: its required fields always (so the API names a missing one),
    the others when set."""
    body: dict[str, Any] = {}
    for field in item.fields:
        value = values.get(field.name)
        if field.api and (field.required or value is not None):
            body[field.camel] = value
    if item is spec.BIGQUERY_DESTINATION:
        schema = values.get("schema")
        if schema is not None:
            body[api_facts.SCHEMA_FIELDS[schema]] = {}
        if values.get("write_disposition") not in (None, api_facts.WRITE_DISPOSITION_UNSET):
            body.pop("force", None)  # the API ignores force beside a disposition: never sent
    return body


def _build(job: spec.JobSpec, props: Mapping[str, Any]) -> dict[str, Any]:
    """A request object is sent when the input is required or any of its fields is set."""
    body: dict[str, Any] = {}
    for item in job.objects:
        values = _nested(props, item.name)
        if item.api and (item.required or any(values.get(f.name) is not None for f in item.fields)):
            body[item.camel] = _object(item, values)
    return body


def build_import_body(props: dict) -> dict:
    """``ImportDicomDataRequest`` for an import job's inputs."""
    return _build(spec.IMPORT_JOB, props)


def build_export_body(props: dict) -> dict:
    """``ExportDicomDataRequest`` for an export job's inputs (one destination)."""
    return _build(spec.EXPORT_JOB, props)
