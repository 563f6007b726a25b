"""The plugin's wire properties (camelCase ``PropertyValue`` maps) <-> the spec's snake_case dicts.

Why a translation layer: Pulumi's convention on the wire and in every
language's SDK is camelCase (``dicomStore``, ``gcsSource.uri``), while the
shared lifecycle (:mod:`pulumi_dicom_jobs.lifecycle`), validation and the
request body speak the spec's snake_case names. The mapping is read from
:mod:`pulumi_dicom_jobs.spec`, never written twice. Keys the spec does not
know pass through unchanged, so ``check`` still reports them by name.

Unknown values (``Computed``, a preview's not-yet-known inputs) become the
RPC layer's unknown sentinel, which :mod:`pulumi_dicom_jobs.validation` and
``diff`` recognise and never judge. Secret flags are remembered per
top-level property so outputs stay secret where their input was.
"""

from __future__ import annotations

from typing import Any, Mapping

from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.runtime.rpc import UNKNOWN

from pulumi_dicom_jobs import spec

__all__ = ["to_snake", "plain_map", "to_wire", "camel_path", "secret_keys", "TOP_CAMEL", "TOP_SNAKE"]


_CAMEL = spec.camel_names()
#: snake_case -> camelCase and back, for every top-level input and output (a name
#: translates only where it stands: a nested field's name at the top passes as is).
TOP_CAMEL = {name: _CAMEL[name] for job in spec.JOBS for name in (*job.input_names, *job.output_names)}
TOP_SNAKE = {camel: name for name, camel in TOP_CAMEL.items()}
#: Per nested object (snake name): field snake -> camel, and camel -> snake.
_NESTED_CAMEL = {name: {field: _CAMEL[field] for field in item.field_names}
                 for name, item in spec.nested_objects().items()}
_NESTED_SNAKE = {name: {v: k for k, v in fields.items()} for name, fields in _NESTED_CAMEL.items()}


def _plain(value: PropertyValue) -> Any:
    """A PropertyValue as plain Python (unknown -> the RPC sentinel)."""
    inner = value.value
    if isinstance(inner, Computed):
        return UNKNOWN
    if isinstance(inner, Mapping):
        return {k: _plain(v) for k, v in inner.items()}
    if isinstance(inner, tuple):
        return [_plain(v) for v in inner]
    return inner


def to_snake(properties: Mapping[str, PropertyValue]) -> dict[str, Any]:
    """Wire properties -> the lifecycle's snake_case dict (nested objects too)."""
    result: dict[str, Any] = {}
    for key, value in properties.items():
        name = TOP_SNAKE.get(key, key)
        plain = _plain(value)
        fields = _NESTED_SNAKE.get(name)
        if fields is not None and isinstance(plain, dict):
            plain = {fields.get(k, k): v for k, v in plain.items()}
        result[name] = plain
    return result


def plain_map(properties: Mapping[str, PropertyValue]) -> dict[str, Any]:
    """Wire properties as plain Python, names unchanged (the provider configuration)."""
    return {key: _plain(value) for key, value in properties.items()}


def secret_keys(properties: Mapping[str, PropertyValue]) -> frozenset[str]:
    """The snake_case names of the top-level properties that are (or contain) secrets."""
    return frozenset(TOP_SNAKE.get(k, k) for k, v in properties.items() if v.contains_secret())


def _wire(value: Any) -> PropertyValue:
    if value == UNKNOWN:
        return PropertyValue.computed()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return PropertyValue(value)
    if isinstance(value, (int, float)):
        return PropertyValue(float(value))
    if isinstance(value, Mapping):
        return PropertyValue({str(k): _wire(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return PropertyValue([_wire(v) for v in value])
    raise TypeError(f"cannot send a {type(value).__name__} to the engine")


def to_wire(props: Mapping[str, Any], secrets: frozenset[str] = frozenset()) -> dict[str, PropertyValue]:
    """The lifecycle's snake_case dict -> wire properties (None values are left out)."""
    result: dict[str, PropertyValue] = {}
    for name, value in props.items():
        if value is None:
            continue
        fields = _NESTED_CAMEL.get(name)
        if fields is not None and isinstance(value, Mapping):
            value = {fields.get(k, k): v for k, v in value.items() if v is not None}
        wire = _wire(value)
        result[TOP_CAMEL.get(name, name)] = wire.with_secret(True) if name in secrets else wire
    return result


def camel_path(path: str) -> str:
    """A check failure's property path in camelCase: ``gcs_source.uri`` -> ``gcsSource.uri``."""
    if not path:
        return path
    head, _, rest = path.partition(".")
    top = TOP_CAMEL.get(head, head)
    if not rest:
        return top
    field, dot, tail = rest.partition(".")
    return f"{top}.{_NESTED_CAMEL.get(head, {}).get(field, field)}{dot}{tail}"
