"""Export filter files (``filterConfig.resourcePathsGcsUri``).

The file lists what to export, one resource path a line:
``/studies/UID``, ``/studies/UID/series/UID`` or
``/studies/UID/series/UID/instances/UID``, separated by ``\\n`` or ``\\r\\n``.
Blank lines are ignored. One malformed line fails the whole operation (the
user asked for a specific subset; exporting a guess would be worse), with an
error naming the line number and its text. Unlisted resources are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from .gcs import BucketNotFound, GcsClient, GcsError, ObjectNotFound, split_gs_uri
from .jobcontext import JobContext, OperationFailed
from .rpc import INVALID_ARGUMENT, NOT_FOUND, UNKNOWN

_UID = r"[0-9]+(?:\.[0-9]+)*"
_LINE = re.compile(rf"^/studies/({_UID})(?:/series/({_UID})(?:/instances/({_UID}))?)?/?$")


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
    """Parse a filter file's text; ValueError naming the first malformed line."""
    result = ResourceFilter()
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip():
            continue
        match = _LINE.match(line.strip())
        if not match:
            raise ValueError(f"line {number} of the filter file is not a resource path "
                             f"/studies/UID[/series/UID[/instances/UID]]: {line!r}")
        study, series, instance = match.groups()
        if instance:
            result.instances.add((study, series, instance))
        elif series:
            result.series.add((study, series))
        else:
            result.studies.add(study)
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
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OperationFailed(INVALID_ARGUMENT, f"filter file {uri} is not UTF-8 text") from None
    try:
        return parse_filter(text)
    except ValueError as exc:
        raise OperationFailed(INVALID_ARGUMENT, f"filter file {uri}: {exc}") from None
