"""The ``dicom-jobs`` Pulumi package schema, generated from :mod:`pulumi_dicom_jobs.spec`.

Why generated: the schema is what ``pulumi package add`` turns into a
TypeScript, Go, C# or Python SDK and what Pulumi YAML type-checks against.
Written by hand it would drift from the inputs the provider actually
validates and sends; derived from the one input table it cannot. Pulumi's
conventions apply: camelCase names, one object type per nested input, one
enum type per input with a closed set of values, ``replaceOnChanges`` on
every input whose change starts a new job, and a description everywhere.
The provider configuration (:mod:`pulumi_dicom_jobs.plugin.config`) is
described from its own small table.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi_dicom_jobs import spec
from pulumi_dicom_jobs.plugin import config, package_info

__all__ = ["PACKAGE", "token", "package_schema", "schema_json"]

#: The package name: type tokens are ``dicom-jobs:index:<Resource>``, the plugin ``pulumi-resource-dicom-jobs``.
PACKAGE = "dicom-jobs"
_MODULE = "index"
_ANY = {"$ref": "pulumi.json#/Any"}


def token(name: str) -> str:
    """The type token of a resource or type called ``name`` in this package."""
    return f"{PACKAGE}:{_MODULE}:{name}"


def _enum_name(item: spec.InputSpec) -> str:
    return item.camel[0].upper() + item.camel[1:]


def _type_ref(item: spec.InputSpec) -> dict[str, Any]:
    if item.type == "object":
        return {"$ref": f"#/types/{token(item.type_name or '')}"}
    if item.enum:
        return {"$ref": f"#/types/{token(_enum_name(item))}"}
    if item.type == "any":
        return dict(_ANY)
    return {"type": item.type}


def _property(item: spec.InputSpec, *, replace: bool) -> dict[str, Any]:
    prop: dict[str, Any] = {**_type_ref(item), "description": item.description}
    if item.default is not None and item.type != "object":
        prop["default"] = item.default
    if replace:
        prop["replaceOnChanges"] = True
    return prop


def _types() -> dict[str, Any]:
    types: dict[str, Any] = {}
    for job in spec.JOBS:
        for path, item in spec.walk(job):
            if item.type == "object":
                types[token(item.type_name or "")] = {
                    "type": "object",
                    "description": item.description,
                    "properties": {f.camel: _property(f, replace=False) for f in item.fields},
                    "required": [f.camel for f in item.fields if f.required],
                }
            elif item.enum:
                name = token(_enum_name(item))
                described = types.setdefault(name, {
                    "type": "string",
                    "description": f"The values {item.camel} accepts.",
                    "enum": [{"value": value} for value in item.enum],
                })
                if [v["value"] for v in described["enum"]] != list(item.enum):
                    raise ValueError(f"two enums are called {name} with different values ({path})")
    return types


def _resource(job: spec.JobSpec) -> dict[str, Any]:
    inputs = {item.camel: _property(item, replace=item.replaces) for item in job.inputs}
    outputs = {o.camel: {"type": o.type, "description": o.description} for o in job.outputs}
    required_inputs = [item.camel for item in job.inputs if item.required]
    return {
        "description": job.description,
        "type": "object",
        "inputProperties": inputs,
        "requiredInputs": required_inputs,
        "properties": {**inputs, **outputs},
        "required": [*required_inputs, "operationName", "successCount", "failureCount"],
    }


def package_schema() -> dict[str, Any]:
    """The whole package schema as a dict (``GetSchema`` sends it as JSON)."""
    variables = {option.camel: option.property() for option in config.OPTIONS}
    return {
        "name": PACKAGE,
        "displayName": "DICOM jobs",
        "version": package_info.version(),
        "description": "Cloud Healthcare API DICOM import and export jobs as resources: each waits on its "
                       "long-running operation, shows its progress, and fails with the operation's errors.",
        "keywords": ["category/cloud", "kind/native", "healthcare", "dicom"],
        "license": package_info.license(),
        "publisher": package_info.publisher(),
        "repository": package_info.repository(),
        "config": {"variables": variables},
        "provider": {
            "description": "The dicom-jobs provider: where the API is and what Ctrl-C does to running jobs.",
            "type": "object",
            "inputProperties": variables,
            "properties": variables,
        },
        "types": _types(),
        "resources": {token(job.name): _resource(job) for job in spec.JOBS},
        "language": package_info.language(),
    }


def schema_json() -> str:
    return json.dumps(package_schema(), indent=2, sort_keys=True)
