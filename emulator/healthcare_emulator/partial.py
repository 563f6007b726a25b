"""Partial responses: the ``fields`` system parameter.

Why: Google's client libraries and users ask for part of an answer with
``fields=name,metadata/counter`` or ``fields=operations(name,done),nextPageToken``;
the real service answers with just those fields. The emulator does the same
for every JSON answer, so code that relies on a field selection is tested
against the selection it really gets.

Grammar (the subset Google documents for partial responses)::

    selection := item ("," item)*
    item      := path ["(" selection ")"]
    path      := name ("/" name)*          name: a JSON field name or "*"

``a/b`` selects ``b`` inside ``a``; ``a(b,c)`` selects ``b`` and ``c`` inside
``a``; inside a list the selection applies to every element; ``*`` selects
every field. A name the answer does not hold selects nothing (no error: the
emulator does not check names against the response schema), and a
``snake_case`` name also matches its ``camelCase`` field. A selection that
does not parse is refused with 400 INVALID_ARGUMENT.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Optional

from .errors import invalid

#: A parsed selection: field name → the selection inside it (None: the whole field).
Selection = dict[str, Optional["Selection"]]

_NAME = re.compile(r"[A-Za-z0-9_.@$\-]+|\*")


def parse(text: str) -> Selection:
    """Parse a ``fields`` value; 400 INVALID_ARGUMENT naming the position when it does not parse."""
    parser = _Parser(text)
    selection = parser.selection()
    if parser.position != len(text):
        raise parser.error()
    return selection


def select(value: Any, selection: Selection) -> Any:
    """The part of a JSON value that ``selection`` names."""
    if isinstance(value, list):
        return [select(item, selection) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict = {}
    for key, item in value.items():
        inner = _inner_for(key, selection)
        if inner is _ABSENT:
            continue
        out[key] = item if inner is None else select(item, inner)
    return out


_ABSENT = object()


def _inner_for(key: str, selection: Selection) -> Any:
    """What ``selection`` keeps of field ``key``: None (all of it), a selection, or ``_ABSENT``."""
    found: list[Optional[Selection]] = [inner for name, inner in selection.items()
                                        if name in ("*", key) or _camel(name) == key]
    if not found:
        return _ABSENT
    if any(inner is None for inner in found):
        return None
    merged: Selection = {}
    for inner in found:
        _merge(merged, inner)
    return merged


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _merge(into: Selection, other: Optional[Selection]) -> None:
    for name, inner in (other or {}).items():
        if name in into and (into[name] is None or inner is None):
            into[name] = None
        elif name in into:
            _merge(into[name], inner)  # type: ignore[arg-type]
        else:
            into[name] = copy.deepcopy(inner)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def error(self) -> Exception:
        return invalid(f"Invalid field selection in 'fields' at position {self.position}: "
                       f"{self.text!r}")

    def selection(self) -> Selection:
        out: Selection = {}
        while True:
            _merge(out, self.item())
            if self.position < len(self.text) and self.text[self.position] == ",":
                self.position += 1
                continue
            return out

    def item(self) -> Selection:
        names = [self.name()]
        while self.position < len(self.text) and self.text[self.position] == "/":
            self.position += 1
            names.append(self.name())
        inner: Optional[Selection] = None
        if self.position < len(self.text) and self.text[self.position] == "(":
            self.position += 1
            inner = self.selection()
            if self.position >= len(self.text) or self.text[self.position] != ")":
                raise self.error()
            self.position += 1
        for name in reversed(names):
            inner = {name: inner}
        return inner  # type: ignore[return-value]

    def name(self) -> str:
        while self.position < len(self.text) and self.text[self.position] == " ":
            self.position += 1
        match = _NAME.match(self.text, self.position)
        if not match:
            raise self.error()
        self.position = match.end()
        while self.position < len(self.text) and self.text[self.position] == " ":
            self.position += 1
        return match.group(0)
