"""A stack's outputs as ``pulumi up`` prints them under ``Outputs:``.

Why: one JSON line per output wraps across dozens of terminal lines, and the
Pulumi CLI does not print outputs that way. What it does (its display
package's property printer), and so what this does:

- top-level outputs sorted by name, each ``name: value`` four spaces in, the
  names padded to the longest one; a null, an empty string, an empty list or
  an empty map at the top level is not printed;
- a map prints as ``{`` then one ``key: value`` line per key (sorted, padded
  to the map's longest key, one level deeper), then ``}`` at the map's level;
  a list as ``[`` then one ``[i]: value`` line per element, then ``]``;
  ``{}``/``[]`` when empty; keys starting with ``__`` (engine-internal) are
  skipped;
- strings double-quoted with escapes, whole numbers without a fraction
  (``9``, not ``9.0``), booleans ``true``/``false``, null ``<null>``;
- nothing is cut: ``pulumi up`` shows stack outputs in full unless
  ``--show-full-output=false`` is given.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

INDENT = "    "


def _internal(key: str) -> bool:
    return key.startswith("__")


def _printable_at_top(value: Any) -> bool:
    return not (value is None or value == "" or value == [] or value == {})


def _scalar(value: Any) -> str:
    if value is None:
        return "<null>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return json.dumps(str(value), ensure_ascii=False)


def _value(value: Any, level: int) -> list[str]:
    """``value`` at nesting ``level``: its first line continues a title, the rest stand alone."""
    pad = INDENT * level
    if isinstance(value, Mapping):
        if not value:
            return ["{}"]
        return ["{", *_entries(value, level + 1), pad + "}"]
    if isinstance(value, (list, tuple)):
        if not value:
            return ["[]"]
        lines = ["["]
        for index, element in enumerate(value):
            first, *rest = _value(element, level + 1)
            lines += [f"{pad}{INDENT}[{index}]: {first}", *rest]
        return [*lines, pad + "]"]
    return [_scalar(value)]


def _entries(mapping: Mapping[str, Any], level: int, *, top: bool = False) -> list[str]:
    keys = sorted(mapping)
    width = max((len(key) for key in keys), default=0)
    lines: list[str] = []
    for key in keys:
        value = mapping[key]
        if _internal(key) or (top and not _printable_at_top(value)):
            continue
        first, *rest = _value(value, level)
        lines += [f"{INDENT * level}{key:<{width}}: {first}", *rest]
    return lines


def output_lines(outputs: Mapping[str, Any]) -> list[str]:
    """The lines under ``Outputs:`` for a stack's ``outputs``."""
    return _entries(outputs, 1, top=True)
