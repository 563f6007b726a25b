"""Property paths and ``ignoreChanges``: the engine puts the old values back before Check and Diff.

The engine parses each ``ignoreChanges`` entry as a property path (``a.b``,
``a[0]``, ``["key with.dot"]``, ``*``) and resets that location in the new
inputs to its value in the old inputs; a location that the old inputs lack
is removed from the new ones. A path through elements that were added or
removed cannot be reset: the engine reports it as an info message and goes
on. Followed: pulumi/pulumi ``sdk/go/common/resource/properties_path.go``
(``parsePropertyPath``, ``PropertyPath.reset``) and
``pkg/resource/deploy/step_generator.go`` (``processIgnoreChanges``).
"""

from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

from .state import is_secret, make_secret

Path = list  # of str (a key, or "*") and int (an index)


class PathError(ValueError):
    """A property path that does not parse."""


def parse(text: str) -> Path:
    """``a.b[0]["c.d"]`` -> ``["a", "b", 0, "c.d"]``, as the engine parses (non-strict)."""
    elements: Path = []
    if text.startswith("."):
        raise PathError("expected property path to start with a name or index")
    rest = text
    while rest:
        head = rest[0]
        if head == ".":
            rest = rest[1:]
            if not rest:
                raise PathError("expected property path to end with a name or index")
        elif head == "[":
            if len(rest) > 1 and rest[1] == '"':
                key, i = [], 2
                while True:
                    if i >= len(rest):
                        raise PathError("missing closing quote in property name")
                    if rest[i] == '"':
                        i += 1
                        break
                    if rest[i] == "\\" and i + 1 < len(rest) and rest[i + 1] == '"':
                        key.append('"')
                        i += 2
                    else:
                        key.append(rest[i])
                        i += 1
                if i >= len(rest) or rest[i] != "]":
                    raise PathError("missing closing bracket in property access")
                elements.append("".join(key))
                rest = rest[i + 1:]
            else:
                close = rest.find("]")
                if close == -1:
                    raise PathError("missing closing bracket in array index")
                segment = rest[1:close]
                if segment == "*":
                    elements.append("*")
                else:
                    try:
                        elements.append(int(segment, 10))
                    except ValueError:
                        raise PathError(f"invalid array index: {segment!r}") from None
                rest = rest[close + 1:]
        else:
            end = len(rest)
            for i, char in enumerate(rest):
                if char in ".[":
                    end = i
                    break
            elements.append(rest[:end])
            rest = rest[end:]
    return elements


def _unwrap(value: Any) -> tuple[Any, bool]:
    secret = False
    while is_secret(value):
        value, secret = value["value"], True
    return value, secret


def _reset(path: Path, old: Any, new: Any, old_secret: bool, new_secret: bool) -> bool:
    """Reset ``path`` inside ``new`` (mutated) to its value in ``old``; False on a path error."""
    if not path:
        return False
    old, secret = _unwrap(old)
    old_secret = old_secret or secret
    new, secret = _unwrap(new)
    new_secret = new_secret or secret
    key, rest = path[0], path[1:]

    def carried(value: Any) -> Any:
        return make_secret(value) if old_secret and not new_secret else value

    if isinstance(key, int):
        if key < 0:
            return False
        old_list, new_list = isinstance(old, list), isinstance(new, list)
        if not rest:
            if not old_list and not new_list:
                return True
            if not old_list or not new_list:
                return False
            if key >= len(old) and key >= len(new):
                return True
            if key >= len(old) or key >= len(new):
                return False
            new[key] = carried(copy.deepcopy(old[key]))
            return True
        if not old_list or not new_list:
            return not old_list and not new_list
        if key >= len(old) or key >= len(new):
            return False
        return _reset(rest, old[key], new[key], old_secret, new_secret)

    if key == "*":
        if not rest:
            if isinstance(new, dict):
                if isinstance(old, dict):
                    for name in list(new):
                        if name not in old:
                            del new[name]
                    for name, value in old.items():
                        new[name] = carried(copy.deepcopy(value))
                return True
            if isinstance(new, list):
                if isinstance(old, list):
                    for i in range(min(len(old), len(new))):
                        new[i] = carried(copy.deepcopy(old[i]))
                    return len(old) == len(new)
                return True
            return False
        if isinstance(old, dict) and isinstance(new, dict):
            for name in old:
                if name not in new:
                    return False
                if not _reset(rest, old[name], new[name], old_secret, new_secret):
                    return False
            return True
        if isinstance(old, list) and isinstance(new, list):
            for i in range(min(len(old), len(new))):
                if not _reset(rest, old[i], new[i], old_secret, new_secret):
                    return False
            return len(old) == len(new)
        return False

    if not rest:
        if isinstance(old, dict) and key in old:
            if not isinstance(new, dict):
                return False
            new[key] = carried(copy.deepcopy(old[key]))
        elif isinstance(new, dict):
            new.pop(key, None)
        return True
    if not isinstance(old, dict) or not isinstance(new, dict):
        return not isinstance(old, dict) and not isinstance(new, dict)
    has_old, has_new = key in old, key in new
    if has_old and not has_new:
        return False
    if not has_old and not has_new:
        return True
    if not has_old:
        # The engine reads a missing old value as null: nothing below it to reset.
        return _reset(rest, None, new[key], old_secret, new_secret)
    return _reset(rest, old[key], new[key], old_secret, new_secret)


def reset_ignored(inputs: Mapping[str, Any], old_inputs: Mapping[str, Any],
                  ignore_changes: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """``inputs`` with every ``ignore_changes`` location set back to ``old_inputs``'s value.

    Returns the new inputs (a copy) and the paths that could not be reset
    (the engine's info message lists them); unparsable paths are skipped,
    as the engine skips them.
    """
    result = copy.deepcopy(dict(inputs))
    failed: list[str] = []
    for text in ignore_changes:
        try:
            path = parse(text)
        except PathError:
            continue
        if not _reset(path, dict(old_inputs), result, False, False):
            failed.append(text)
    return result, failed


def contains(prefix: Path, path: Path) -> bool:
    """Whether ``prefix`` (``*`` matching any element) is a prefix of ``path``
    (``PropertyPath.Contains``, used by ``replaceOnChanges``)."""
    if len(prefix) > len(path):
        return False
    return all(p == "*" or p == q for p, q in zip(prefix, path))
