"""Parsing of the resource names the product handles, in one place.

Why one module: the same strings (a DICOM store name, an operation name, a
``gs://`` URI, a ``bq://`` table URI) are read by the input checks, the job
runner, the CLI and the pulumi-gcp helpers. Each is split here, once; what a
*valid* name is (character sets, lengths, the messages users see) stays with
the rules in :mod:`pulumi_dicom_jobs.validation`. Every function is pure.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional

__all__ = [
    "StoreName", "split_dicom_store", "parse_dicom_store", "dataset_of", "is_operation_name",
    "short_operation_name", "split_gs_uri", "join_gs_uri", "parse_table_uri",
    "GS_SCHEME", "BQ_SCHEME",
]

GS_SCHEME = "gs://"
BQ_SCHEME = "bq://"

_STORE_RE = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/datasets/(?P<dataset>[^/]+)/dicomStores/(?P<store>[^/]+)$")
_OPERATION_RE = re.compile(r"^projects/[^/\s]+/locations/[^/\s]+/datasets/[^/\s]+/operations/[^/\s]+$")
_OPERATION_MARKER = "/operations/"


class StoreName(NamedTuple):
    """The parts of ``projects/P/locations/L/datasets/D/dicomStores/S``."""

    project: str
    location: str
    dataset: str
    store: str


def split_dicom_store(name: object) -> Optional[StoreName]:
    """The four ids of a DICOM store name (each non-empty, without ``/``), or None."""
    match = _STORE_RE.match(name) if isinstance(name, str) else None
    return StoreName(*match.group("project", "location", "dataset", "store")) if match else None


def parse_dicom_store(name: str) -> tuple[str, str, str, str]:
    """``projects/P/locations/L/datasets/D/dicomStores/S`` -> ``(P, L, D, S)``; ValueError otherwise.

    A pulumi-gcp ``healthcare.DicomStore``'s ``id`` has this form.
    """
    parts = split_dicom_store(name or "")
    if parts is None:
        raise ValueError(
            f"not a DICOM store resource name: {name!r} "
            "(expected projects/P/locations/L/datasets/D/dicomStores/S)"
        )
    return tuple(parts)  # type: ignore[return-value]


def dataset_of(name: str) -> str:
    """``projects/.../datasets/D`` of a store or operation name (the name itself otherwise)."""
    for marker in ("/dicomStores/", _OPERATION_MARKER):
        if marker in name:
            return name.split(marker, 1)[0]
    return name


def is_operation_name(name: str) -> bool:
    """True for ``projects/P/locations/L/datasets/D/operations/ID``."""
    return bool(_OPERATION_RE.match(name))


def short_operation_name(name: str) -> str:
    """``operations/ID`` of a full operation name (for narrow displays)."""
    if _OPERATION_MARKER in name:
        return "operations/" + name.split(_OPERATION_MARKER, 1)[1]
    return name


def split_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://BUCKET/OBJECT`` -> ``(BUCKET, OBJECT)`` (either may be empty); ValueError without ``gs://``."""
    if not uri.startswith(GS_SCHEME):
        raise ValueError(f"not a Cloud Storage URI: {uri!r} (expected gs://BUCKET/...)")
    bucket, _, obj = uri[len(GS_SCHEME):].partition("/")
    return bucket, obj


def join_gs_uri(bucket: str, path: str) -> str:
    """``gs://BUCKET/PATH`` (``gs://BUCKET`` for an empty path; leading slashes dropped)."""
    path = (path or "").lstrip("/")
    return f"{GS_SCHEME}{bucket}/{path}" if path else f"{GS_SCHEME}{bucket}"


def parse_table_uri(table_uri: str) -> tuple[str, str, str]:
    """``bq://PROJECT.DATASET.TABLE`` -> ``(PROJECT, DATASET, TABLE)``; ValueError otherwise.

    Domain-scoped project ids (``example.com:proj``) contain no dot after the
    colon, so the last two dot-separated parts are always dataset and table.
    """
    if not isinstance(table_uri, str) or not table_uri.startswith(BQ_SCHEME):
        raise ValueError(f"not a BigQuery table URI: {table_uri!r} (expected bq://PROJECT.DATASET.TABLE)")
    parts = table_uri[len(BQ_SCHEME):].rsplit(".", 2)
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"not a BigQuery table URI: {table_uri!r} (expected bq://PROJECT.DATASET.TABLE)")
    return parts[0], parts[1], parts[2]
