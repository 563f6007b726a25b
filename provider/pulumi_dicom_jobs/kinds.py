"""The three kinds of DICOM job, spelled one way.

Why an enum: the kind decides the URL verb (``dicomStores.import`` or
``.export``), the ``metadata.apiMethodName`` the operation carries (BigQuery
exports report ``ExportDicomData_bq``, see ARCHITECTURE.md), and the words
users read ("DICOM export job", "export to BigQuery operation ..."). Every
module that needs one of these asks the kind instead of re-deriving it from
a flag, a verb string or a method name.
"""

from __future__ import annotations

import enum
from typing import Any, Mapping, Optional

__all__ = ["JobKind"]

_METHOD_PREFIX = "google.cloud.healthcare.{version}.dicom.DicomService."


class JobKind(enum.Enum):
    """Import from Cloud Storage, export to Cloud Storage, export to BigQuery."""

    IMPORT = ("import", "import", "ImportDicomData")
    EXPORT_GCS = ("export", "export", "ExportDicomData")
    EXPORT_BIGQUERY = ("export", "export to BigQuery", "ExportDicomData_bq")

    def __init__(self, verb: str, noun: str, method: str) -> None:
        #: The API call's verb (``dicomStores.import`` or ``.export``), as in "DICOM {verb} job".
        self.verb = verb
        #: What users read: "import", "export" or "export to BigQuery".
        self.noun = noun
        self._method = method

    @property
    def is_export(self) -> bool:
        return self is not JobKind.IMPORT

    def api_method_name(self, api_version: str) -> str:
        """The ``metadata.apiMethodName`` an operation of this kind carries."""
        return _METHOD_PREFIX.format(version=api_version) + self._method

    @classmethod
    def of_request(cls, export: bool, body: Mapping[str, Any]) -> "JobKind":
        """The kind of a request body (an export writes to BigQuery or to Cloud Storage)."""
        if not export:
            return cls.IMPORT
        return cls.EXPORT_BIGQUERY if body.get("bigqueryDestination") is not None else cls.EXPORT_GCS

    @classmethod
    def of_method_name(cls, method: Optional[str]) -> Optional["JobKind"]:
        """The kind an operation's ``apiMethodName`` names, or None."""
        method = method or ""
        # ``ExportDicomData`` is a prefix of ``ExportDicomData_bq``: the longer name first
        for kind in (cls.IMPORT, cls.EXPORT_BIGQUERY, cls.EXPORT_GCS):
            if kind._method in method:
                return kind
        return None
