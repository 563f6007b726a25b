"""The import source URI rules of ``dicomStores.import`` (``gcsSource.uri``).

The discovery document (schema ``GoogleCloudHealthcareV1DicomGcsSource``)
allows ``gs://{bucket_id}/{object_id}`` where ``object_id`` may hold:

* ``*``  – 0 or more characters other than the separator ``/``;
* ``?``  – exactly one character (never ``/``: like ``*`` it stays inside one
  path segment, as Cloud Storage globbing does);
* ``**`` – 0 or more characters including ``/``; only at the end of the path,
  with no other wildcard anywhere in the path, optionally followed by a file
  extension (``gs://b/dir/**.dcm``).

"All other URI formats are invalid": a ``**`` followed by anything but an
extension, three or more ``*`` in a row, ``**`` together with ``*`` or ``?``,
an empty bucket or object, or a bucket name Cloud Storage would refuse. The
service rejects those synchronously (400), so :func:`validate_import_uri`
raises ``ValueError`` naming the broken rule. A URI without wildcards names
exactly one object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BUCKET_PART = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$")
_EXTENSION = re.compile(r"^\.[^/*?]+$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


@dataclass(frozen=True)
class ImportPattern:
    """A validated import URI: where to list and how to match object names."""

    bucket: str
    #: the literal start of the object name, up to the first wildcard
    prefix: str
    has_wildcard: bool
    _regex: re.Pattern

    def matches(self, object_name: str) -> bool:
        """True when the object name is selected by the URI."""
        return self._regex.fullmatch(object_name) is not None


def validate_bucket_name(bucket: str) -> None:
    """Cloud Storage bucket naming rules (3–63 chars, or dotted up to 222)."""
    if not bucket:
        raise ValueError("gcsSource.uri: the bucket name is empty (expected gs://BUCKET/OBJECT)")
    if len(bucket) < 3 or len(bucket) > 222:
        raise ValueError(f"gcsSource.uri: bucket name {bucket!r} must be 3 to 63 characters long")
    parts = bucket.split(".")
    if len(parts) == 1 and len(bucket) > 63:
        raise ValueError(f"gcsSource.uri: bucket name {bucket!r} must be 3 to 63 characters long")
    if _IPV4.match(bucket):
        raise ValueError(f"gcsSource.uri: bucket name {bucket!r} must not look like an IP address")
    if bucket.startswith("goog"):
        raise ValueError(f"gcsSource.uri: bucket name {bucket!r} must not start with 'goog' (reserved by Cloud Storage)")
    for part in parts:
        if not _BUCKET_PART.match(part):
            raise ValueError(
                f"gcsSource.uri: bucket name {bucket!r} may only hold lowercase letters, digits, "
                "'-', '_' and '.', and must start and end with a letter or digit")


def _split(uri: str) -> tuple[str, str]:
    if not isinstance(uri, str) or not uri.startswith("gs://"):
        raise ValueError(f"gcsSource.uri must be a Cloud Storage URI gs://BUCKET/OBJECT, got {uri!r}")
    rest = uri[len("gs://"):]
    bucket, slash, object_part = rest.partition("/")
    validate_bucket_name(bucket)
    if not slash or not object_part:
        raise ValueError(f"gcsSource.uri {uri!r} names no object: expected gs://BUCKET/OBJECT "
                         "(use gs://BUCKET/** for the whole bucket)")
    return bucket, object_part


def _check_wildcards(uri: str, object_part: str) -> None:
    if "***" in object_part:
        raise ValueError(f"gcsSource.uri {uri!r}: three or more consecutive '*' are not a valid wildcard")
    count = object_part.count("**")
    if count == 0:
        return
    if count > 1:
        raise ValueError(f"gcsSource.uri {uri!r}: '**' may appear only once, at the end of the path")
    head, _, tail = object_part.partition("**")
    if "*" in head or "?" in head or "*" in tail or "?" in tail:
        raise ValueError(f"gcsSource.uri {uri!r}: '**' cannot be combined with other wildcards "
                         "('*' or '?') in the same path")
    if tail and not _EXTENSION.match(tail):
        raise ValueError(f"gcsSource.uri {uri!r}: '**' must be at the end of the path, optionally "
                         "followed by a file extension such as '.dcm'")


def validate_import_uri(uri: str) -> None:
    """Raise ValueError naming the rule that ``uri`` breaks; None when valid."""
    bucket, object_part = _split(uri)
    _check_wildcards(uri, object_part)


def _to_regex(object_part: str) -> re.Pattern:
    out: list[str] = []
    index = 0
    while index < len(object_part):
        if object_part.startswith("**", index):
            out.append(".*")
            index += 2
        elif object_part[index] == "*":
            out.append("[^/]*")
            index += 1
        elif object_part[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(object_part[index]))
            index += 1
    return re.compile("".join(out), re.DOTALL)


def parse_import_uri(uri: str) -> ImportPattern:
    """Validate ``uri`` and return its bucket, listing prefix and matcher."""
    bucket, object_part = _split(uri)
    _check_wildcards(uri, object_part)
    first = min((i for i in (object_part.find("*"), object_part.find("?")) if i >= 0),
                default=len(object_part))
    return ImportPattern(bucket=bucket, prefix=object_part[:first],
                         has_wildcard=first < len(object_part), _regex=_to_regex(object_part))


def listing_prefix(uri: str) -> str:
    """The literal part of the object name before the first wildcard."""
    return parse_import_uri(uri).prefix


def matches(uri: str, object_name: str) -> bool:
    """True when ``object_name`` (in the URI's bucket) is selected by ``uri``."""
    return parse_import_uri(uri).matches(object_name)
