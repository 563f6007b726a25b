"""Request-body validation against Google's own discovery documents.

Why: the real API rejects a misspelt field (``gcsDestination.mimeTyp``), a
wrong JSON type or an unknown enum value with 400 before anything runs. A
client that is only ever tested against a lenient fake would never notice
such bugs, so the emulator checks every body against the discovery document
(:mod:`healthcare_emulator.discovery`) of the URL's API version, before the
method's own rules (for import and export, :mod:`healthcare_emulator.job_requests`).
What the emulator refuses: docs/emulator.md#what-it-emulates.

The walker understands the discovery subset those documents use: ``$ref``,
``properties``, ``additionalProperties``, ``items``, ``enum``, ``type``
(object, array, string, boolean, integer, number, any) and the string
formats (int64/uint64/int32 as strings or numbers, google-datetime,
google-duration, google-fieldmask, byte, double). Like proto3 JSON it accepts
``snake_case`` field names and ``null`` values; :func:`validate_request`
returns a copy with camelCase keys and nulls dropped, so later code sees one
spelling.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Optional

from . import discovery
from .errors import ApiError, invalid

_INT_STRING = re.compile(r"^-?\d+$")
_UINT_STRING = re.compile(r"^\d+$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_INT32 = (-(2 ** 31), 2 ** 31 - 1)
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_UINT64 = (0, 2 ** 64 - 1)


def validate_request(version: str, method_id: str, body: Any) -> dict:
    """Check ``body`` against the method's request schema; return it normalised.

    Raises :class:`ApiError` 400 naming the offending field by its dotted path.
    """
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. The request body must be a JSON object.")
    name = discovery.request_schema_name(version, method_id)
    if name is None:
        if body:
            raise invalid("Invalid JSON payload received. This method takes no request body.")
        return {}
    return _Walker(discovery.schemas(version)).walk(body, {"$ref": name}, "")


def _snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class _Walker:
    """Walks a JSON value and a discovery schema side by side."""

    def __init__(self, schemas: dict) -> None:
        self.schemas = schemas

    def _bad(self, path: str, expected: str, value: Any) -> ApiError:
        shown = json.dumps(value)[:80]
        where = path or "(request body)"
        return invalid(f"Invalid value at '{where}' ({expected}), {shown}")

    def walk(self, value: Any, schema: dict, path: str) -> Any:
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        kind = schema.get("type")
        if kind == "any" or (kind is None and "properties" not in schema):
            return value
        if kind == "object" or "properties" in schema:
            return self._object(value, schema, path)
        if kind == "array":
            if not isinstance(value, list):
                raise self._bad(path, "TYPE_ARRAY", value)
            return [self.walk(item, schema.get("items", {"type": "any"}), f"{path}[{index}]")
                    for index, item in enumerate(value)]
        if "enum" in schema:
            return self._enum(value, schema, path)
        if kind == "string":
            return self._string(value, schema.get("format"), path)
        if kind == "boolean":
            if not isinstance(value, bool):
                raise self._bad(path, "TYPE_BOOL", value)
            return value
        if kind == "integer":
            return self._integer(value, schema.get("format"), path)
        if kind == "number":
            if isinstance(value, bool) or not (isinstance(value, (int, float))
                                               or value in ("NaN", "Infinity", "-Infinity")):
                raise self._bad(path, "TYPE_DOUBLE", value)
            return value
        return value

    def _object(self, value: Any, schema: dict, path: str) -> dict:
        if not isinstance(value, dict):
            raise self._bad(path, "TYPE_MESSAGE", value)
        properties: dict = schema.get("properties", {})
        extra: Optional[dict] = schema.get("additionalProperties")
        out: dict = {}
        for key, item in value.items():
            if item is None:
                continue  # proto3 JSON: null means "use the default"
            name = key
            if name not in properties and extra is None and "_" in name:
                name = _snake_to_camel(name)
            child_path = f"{path}.{name}" if path else name
            if name in properties:
                out[name] = self.walk(item, properties[name], child_path)
            elif extra is not None:
                out[key] = self.walk(item, extra, f"{path}.{key}" if path else key)
            else:
                unknown = f"{path}.{key}" if path else key
                raise invalid(f'Invalid JSON payload received. Unknown name "{unknown}": '
                              "Cannot find field.")
        return out

    def _enum(self, value: Any, schema: dict, path: str) -> str:
        allowed: list = schema["enum"]
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(allowed):
            return allowed[value]  # proto3 JSON also accepts the enum's number
        if not isinstance(value, str) or value not in allowed:
            raise invalid(f"Invalid value at '{path}' (enum), {json.dumps(value)[:80]}: "
                          f"expected one of {', '.join(allowed)}")
        return value

    def _string(self, value: Any, fmt: Optional[str], path: str) -> Any:
        if fmt in ("int64", "uint64"):
            bounds = _INT64 if fmt == "int64" else _UINT64
            pattern = _INT_STRING if fmt == "int64" else _UINT_STRING
            number: Optional[int] = None
            if isinstance(value, int) and not isinstance(value, bool):
                number = value
            elif isinstance(value, str) and pattern.match(value):
                number = int(value)
            if number is None or not bounds[0] <= number <= bounds[1]:
                raise self._bad(path, f"TYPE_{fmt.upper()}", value)
            return str(number)
        if not isinstance(value, str):
            raise self._bad(path, "TYPE_STRING", value)
        if fmt == "google-datetime" and not _DATETIME.match(value):
            raise self._bad(path, "google.protobuf.Timestamp", value)
        if fmt == "google-duration" and not _DURATION.match(value):
            raise self._bad(path, "google.protobuf.Duration", value)
        if fmt == "byte":
            try:
                base64.b64decode(value.replace("-", "+").replace("_", "/") + "==", validate=False)
            except (binascii.Error, ValueError):
                raise self._bad(path, "TYPE_BYTES", value) from None
        return value

    def _integer(self, value: Any, fmt: Optional[str], path: str) -> int:
        number: Optional[int] = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and _INT_STRING.match(value):
            number = int(value)
        bounds = _INT32 if fmt in (None, "int32") else (0, 2 ** 32 - 1)
        if number is None or not bounds[0] <= number <= bounds[1]:
            raise self._bad(path, f"TYPE_{(fmt or 'int32').upper()}", value)
        return number
