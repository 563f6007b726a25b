"""Export filter files (``filterConfig.resourcePathsGcsUri``).

The file lists what to export, one resource path a line, in exactly the
seeds' grammar: ``/studies/UID``, ``/studies/UID/series/UID`` or
``/studies/UID/series/UID/instances/UID``. Lines end with ``\n``; the file's
last ``\n`` is optional. Nothing else is a line of the grammar, and where
the documents are silent the stricter reading holds: a blank line, spaces
around a path, a trailing ``/``, a Windows ``\r\n`` ending, a byte-order mark
and an empty file are all refused. Any bad line fails the whole operation
(the user asked for a specific subset; exporting a guess would be worse),
its error naming each bad line by number and text (the first
:data:`NAMED_IN_ERROR`, every one in the operation's log). Unlisted
resources are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from .gcs import BucketNotFound, GcsClient, GcsError, ObjectNotFound, split_gs_uri
from .jobcontext import JobContext, OperationFailed
from .rpc import INVALID_ARGUMENT, NOT_FOUND, UNKNOWN

_UID = r"[0-9]+(?:\.[0-9]+)*"
_LINE = re.compile(rf"/studies/({_UID})(?:/series/({_UID})(?:/instances/({_UID}))?)?")
GRAMMAR = "/studies/UID[/series/UID[/instances/UID]]"
#: Bad lines the operation's error names; the log names every one.
NAMED_IN_ERROR = 10


@dataclass(frozen=True)
class BadLine:
    """A line of a filter file that is not a resource path, and why it looks wrong."""

    number: int
    text: str

    @property
    def hint(self) -> str:
        text = self.text
        if not text.strip():
            return "blank line"
        if text.startswith("\ufeff"):
            return "byte-order mark"
        if text.endswith("\r") and _LINE.fullmatch(text[:-1]):
            return "Windows line ending"
        if text != text.strip() and _LINE.fullmatch(text.strip()):
            return "surrounding whitespace"
        if text.endswith("/") and _LINE.fullmatch(text.rstrip("/")):
            return "trailing '/'"
        return ""

    def __str__(self) -> str:
        return f"line {self.number}: {self.text!r}" + (f" ({self.hint})" if self.hint else "")


class FilterFileError(ValueError):
    """A filter file with lines outside the grammar (or none at all)."""

    def __init__(self, bad: list[BadLine]) -> None:
        self.bad = bad
        named = "; ".join(str(line) for line in bad[:NAMED_IN_ERROR])
        more = (f"; and {len(bad) - NAMED_IN_ERROR} more (every one is in the operation's log)"
                if len(bad) > NAMED_IN_ERROR else "")
        super().__init__(f"{len(bad)} line(s) are not {GRAMMAR} (nothing else may be on a line, not "
                         f"even spaces, and no line may be blank): {named}{more}")


@dataclass
class ResourceFilter:
    """The set of studies, series and instances a filter file selects."""

    studies: set[str] = field(default_factory=set)
    series: set[tuple[str, str]] = field(default_factory=set)
    instances: set[tuple[str, str, str]] = field(default_factory=set)

    def selects(self, study: str, series: str, instance: str) -> bool:
        return (study in self.studies or (study, series) in self.series
                or (study, series, instance) in self.instances)


def parse_filter(text: str) -> ResourceFilter:
    """Parse a filter file's text; :class:`FilterFileError` naming every bad line, or
    ValueError for a file with no line at all."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if not lines:
        raise ValueError(f"the file is empty: it must list at least one {GRAMMAR}")
    result = ResourceFilter()
    bad: list[BadLine] = []
    for number, line in enumerate(lines, start=1):
        match = _LINE.fullmatch(line)
        if not match:
            bad.append(BadLine(number, line))
            continue
        study, series, instance = match.groups()
        if instance:
            result.instances.add((study, series, instance))
        elif series:
            result.series.add((study, series))
        else:
            result.studies.add(study)
    if bad:
        raise FilterFileError(bad)
    return result


def load_filter(ctx: JobContext, gcs: GcsClient, uri: Optional[str]) -> Optional[ResourceFilter]:
    """Read and parse the filter file at ``uri`` (None → no filter); OperationFailed on error."""
    if not uri:
        return None
    try:
        bucket, name = split_gs_uri(uri)
    except ValueError as exc:
        raise OperationFailed(INVALID_ARGUMENT, f"filterConfig.resourcePathsGcsUri: {exc}") from None
    if not name:
        raise OperationFailed(INVALID_ARGUMENT, f"filterConfig.resourcePathsGcsUri {uri!r} names no object")
    ctx.require(f"gs://{bucket}", "get")  # one object: storage.objects.get
    try:
        data = gcs.read_object(bucket, name)
    except (BucketNotFound, ObjectNotFound) as exc:
        raise OperationFailed(NOT_FOUND, f"filter file {uri} cannot be read: {exc}") from None
    except GcsError as exc:
        raise OperationFailed(UNKNOWN, f"filter file {uri} cannot be read: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OperationFailed(INVALID_ARGUMENT, f"filter file {uri} is not UTF-8 text") from None
    try:
        return parse_filter(text)
    except FilterFileError as exc:
        for line in exc.bad:
            ctx.log("ERROR", f"filter file {uri}: {line} is not {GRAMMAR}", uri)
        raise OperationFailed(INVALID_ARGUMENT, f"filter file {uri}: {exc}") from None
    except ValueError as exc:
        raise OperationFailed(INVALID_ARGUMENT, f"filter file {uri}: {exc}") from None
