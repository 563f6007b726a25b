"""The id ``pulumi import`` (and the ``import`` resource option) give a job: ``OPERATION?INPUT=VALUE&...``.

Why more than the operation's name: on import the engine calls ``Read``
with the id alone, then checks the inputs ``Read`` returns, and with the
``import`` option compares them with the program's (docs/plugin.md cites
pulumi/pulumi's ``ImportStep``). Reading an operation tells its dataset,
kind, counters and times, not which store it ran on nor what it read or
wrote, so the id carries those:

``projects/P/locations/L/datasets/D/operations/ID?dicomStore=S&gcsSource.uri=gs://b/ct/**.dcm``

The keys are the resource's camelCase input names, a nested field after
its object's name and a dot (``gcsDestination.mimeType``). ``dicomStore``
is the store's id in the operation's dataset, or its full name. Values are
percent-decoded (``%26`` for ``&``; ``+`` stays ``+``); numbers and
booleans are written as such, ``triggers`` as JSON (``triggers="v2"``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import quote, unquote

from pulumi_dicom_jobs import names, spec

__all__ = ["ImportId", "FORM", "parse", "format_id"]

#: How the id is written, for messages.
FORM = "OPERATION?dicomStore=STORE&gcsSource.uri=URI (docs/plugin.md, \"pulumi import\")"
_SAFE = "/:*?=@,;+!$()[]~{}\"^|<>"
_TRUE, _FALSE = "true", "false"


@dataclass(frozen=True)
class ImportId:
    """An operation's name and the job inputs (snake_case, nested dicts) that the id states."""

    operation: str
    inputs: dict[str, Any]


def _paths(job: spec.JobSpec) -> dict[str, tuple[spec.InputSpec, spec.InputSpec]]:
    """camelCase path -> (top-level input, the input or field the value is)."""
    paths: dict[str, tuple[spec.InputSpec, spec.InputSpec]] = {}
    for item in job.inputs:
        if item.fields:
            for field in item.fields:
                paths[f"{item.camel}.{field.camel}"] = (item, field)
        else:
            paths[item.camel] = (item, item)
    return paths


def _value(path: str, item: spec.InputSpec, text: str) -> Any:
    try:
        if item.type == "integer":
            return int(text)
        if item.type == "number":
            return float(text)
        if item.type == "any":
            return json.loads(text)
    except ValueError:
        kind = "JSON" if item.type == "any" else f"an {item.type}" if item.type == "integer" else "a number"
        raise ValueError(f"{path}={text!r} in the import id: the value must be {kind}") from None
    if item.type == "boolean":
        if text.lower() not in (_TRUE, _FALSE):
            raise ValueError(f"{path}={text!r} in the import id: the value must be true or false")
        return text.lower() == _TRUE
    return text


def parse(job: spec.JobSpec, text: str) -> ImportId:
    """The import id ``text`` of a ``job``; ValueError naming what is wrong and the form."""
    operation, sep, query = text.partition("?")
    if not names.is_operation_name(operation):
        raise ValueError(f"import id {text!r}: it must start with an operation's full name "
                         f"(projects/P/locations/L/datasets/D/operations/ID); the form is {FORM}")
    if not sep or not query:
        raise ValueError(f"import id {text!r}: the API does not say which store an operation ran on nor what "
                         f"it read or wrote, so the id must say it; the form is {FORM}")
    paths = _paths(job)
    inputs: dict[str, Any] = {}
    for pair in query.split("&"):
        key, eq, raw = pair.partition("=")
        if key not in paths or not eq:
            raise ValueError(f"import id: {pair!r} is not INPUT=VALUE with an input of {job.name} "
                             f"(one of {', '.join(sorted(paths))})")
        top, item = paths[key]
        target = inputs.setdefault(top.name, {}) if top.fields else inputs
        if item.name in target:
            raise ValueError(f"import id: {key} is given twice")
        target[item.name] = _value(key, item, unquote(raw))
    store = inputs.get("dicom_store")
    if isinstance(store, str) and "/" not in store:
        inputs["dicom_store"] = f"{names.dataset_of(operation)}/dicomStores/{store}"
    return ImportId(operation, inputs)


def _text(item: spec.InputSpec, value: Any) -> str:
    if item.type == "boolean":
        return _TRUE if value else _FALSE
    if item.type == "any":
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if item.type == "integer" or (item.type == "number" and float(value).is_integer()):
        return str(int(value))
    return str(value)


def format_id(job: spec.JobSpec, operation: str, inputs: Mapping[str, Any]) -> str:
    """The import id of ``operation`` run with ``inputs`` (snake_case): :func:`parse` reads it back."""
    pairs = []
    for item in job.inputs:
        value = inputs.get(item.name)
        if value is None:
            continue
        if item.name == "dicom_store" and names.dataset_of(value) == names.dataset_of(operation):
            value = value.rsplit("/", 1)[-1]
        fields = [(f"{item.camel}.{f.camel}", f, value.get(f.name)) for f in item.fields] if item.fields else \
            [(item.camel, item, value)]
        pairs += [f"{key}={quote(_text(field, v), safe=_SAFE)}" for key, field, v in fields if v is not None]
    return f"{operation}?{'&'.join(pairs)}"
